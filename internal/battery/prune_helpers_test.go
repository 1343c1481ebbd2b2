package battery

import (
	"encoding/json"
	"github.com/cairn-backup/cairn/internal/clitest"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"
	"time"
)

// The prune tests share these helpers: a repository with something to prune, copied
// per case, and the checks every case ends with.

var crashBin struct {
	once sync.Once
	path string
	err  error
}

// crashBinary builds, once per test binary, cairn with its crash points compiled in.
func crashBinary(t *testing.T) string {
	t.Helper()
	crashBin.once.Do(func() {
		crashBin.path, crashBin.err = clitest.Build(filepath.Dir(cairnBin), "cairn-crashpoints", "crashpoints")
	})
	if crashBin.err != nil {
		t.Fatalf("build cairn with crash points: %v", crashBin.err)
	}
	return crashBin.path
}

// pruneBase is a repository of four backups of a changing tree, the first two
// forgotten: prune has packs to delete. kept holds the state of the source at each
// kept snapshot.
type pruneBase struct {
	home string
	src  string
	kept map[string]map[string]string // snapshot id → treeState of src
}

func newPruneBase(t *testing.T, seed uint64) *pruneBase {
	t.Helper()
	c := clitest.New(t, cairnBin)
	c.OK("init", "--pack-size", "1")
	src := filepath.Join(t.TempDir(), "src")
	rng := rand.New(rand.NewPCG(seed, 13))
	clitest.BigRandomFiles(t, src, 6, 400<<10, seed)
	b := &pruneBase{home: filepath.Dir(c.Repo), src: src, kept: map[string]map[string]string{}}
	var ids []string
	states := map[string]map[string]string{}
	for i := range 4 {
		// Two files change each night; the others stay.
		clitest.BigRandomFiles(t, filepath.Join(src, "night"), 2, 300<<10, rng.Uint64()+uint64(i))
		clitest.WriteFiles(t, src, map[string]string{"n": string(rune('a' + i))})
		var sum backupSummary
		if err := json.Unmarshal([]byte(c.OK("backup", "--json", "-q", src)), &sum); err != nil {
			t.Fatal(err)
		}
		ids = append(ids, sum.Snapshot)
		states[sum.Snapshot] = clitest.TreeState(t, src)
	}
	c.OK("forget", "--keep-last", "2")
	for _, id := range ids[2:] {
		b.kept[id] = states[id]
	}
	return b
}

// clone is a user with a copy of the base's repository, state and cache.
func (b *pruneBase) clone(t *testing.T) *clitest.CLI {
	t.Helper()
	c := clitest.New(t, cairnBin)
	home := filepath.Dir(c.Repo)
	for _, d := range []string{"repo", "state", "cache"} {
		if _, err := os.Stat(filepath.Join(b.home, d)); os.IsNotExist(err) {
			continue
		}
		if out, err := exec.Command("cp", "-a", filepath.Join(b.home, d), home).CombinedOutput(); err != nil {
			t.Fatalf("copy %s: %v\n%s", d, err, out)
		}
	}
	return c
}

// checkKept runs verify --read-data and restores every kept snapshot byte-exact.
func checkKept(t *testing.T, c *clitest.CLI, src string, kept map[string]map[string]string) {
	t.Helper()
	if r := c.Run("verify", "--read-data"); r.Code != 0 {
		t.Fatalf("verify --read-data: exit %d\n%s%s", r.Code, r.Stdout, r.Stderr)
	}
	for id, want := range kept {
		target := filepath.Join(t.TempDir(), "r")
		c.OK("restore", id+":"+src, "--target", target)
		clitest.SameState(t, want, clitest.TreeState(t, target))
	}
}

// age moves the storage times of the run notes and mark records of a local repository
// an hour back: to every prune, the grace period has passed (the storage's clock is
// the only one prune reads).
func age(t *testing.T, c *clitest.CLI) {
	t.Helper()
	ageDirs(t, c, "locks", "marks")
}

// ageAll also backdates the packs: orphans a killed repack left become as old as
// the leftovers a prune removes (only where no process that wrote them still runs:
// such a process would see far less time pass than its packs show), and the
// temporary files in data/ itself, where a local repository fills its packs and a
// killed repack leaves its open one.
func ageAll(t *testing.T, c *clitest.CLI) { ageDirs(t, c, "locks", "marks", "data", "data/*") }

func ageDirs(t *testing.T, c *clitest.CLI, dirs ...string) {
	t.Helper()
	old := time.Now().Add(-time.Hour)
	for _, dir := range dirs {
		names, _ := filepath.Glob(filepath.Join(c.Repo, dir, "*"))
		for _, n := range names {
			if err := os.Chtimes(n, old, old); err != nil {
				t.Fatal(err)
			}
		}
	}
}

// objects names every object of a local repository (pins and temp files aside).
func objects(t *testing.T, repo string) map[string]int64 {
	t.Helper()
	out := map[string]int64{}
	for _, dir := range []string{"data", "index", "snapshots", "marks", "state"} {
		err := filepath.Walk(filepath.Join(repo, dir), func(p string, fi os.FileInfo, err error) error {
			if os.IsNotExist(err) {
				return nil
			}
			if err == nil && fi.Mode().IsRegular() {
				rel, _ := filepath.Rel(repo, p)
				out[rel] = fi.Size()
			}
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	return out
}

type pruneResult struct {
	PacksRepack  int   `json:"packs_to_repack"`
	PacksMarked  int   `json:"packs_marked"`
	PacksDeleted int   `json:"packs_deleted"`
	PacksWaiting int   `json:"packs_waiting"`
	BytesToFree  int64 `json:"bytes_to_free"`
	AtOnce       bool  `json:"deleted_at_once"`
}

func pruneJSONOut(t *testing.T, out string) pruneResult {
	t.Helper()
	var p pruneResult
	if err := json.Unmarshal([]byte(out), &p); err != nil {
		t.Fatalf("prune --json: %v\n%s", err, out)
	}
	return p
}
