package battery

import (
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/cairn-backup/cairn/internal/clitest"
)

// damageBase is a local repository with an object of every kind: config, key, packs,
// index segments, snapshot records, a state record (verify's), a mark record (a prune
// with a long grace period) and a run note (a backup stopped before its end).
type damageBase struct {
	home, src string
	newest    string            // the newest snapshot's id: the record a snapshot row damages
	want      map[string]string // the source at the newest snapshot
}

func newDamageBase(t *testing.T) *damageBase {
	c := clitest.New(t, cairnBin)
	c.OK("init", "--pack-size", "1")
	src := filepath.Join(t.TempDir(), "src")
	clitest.BigRandomFiles(t, src, 3, 700<<10, 5)
	clitest.WriteFiles(t, src, map[string]string{"small/a": "alpha", "small/b": "beta"})
	c.OK("backup", "-q", src)
	clitest.BigRandomFiles(t, filepath.Join(src, "second"), 2, 500<<10, 6)
	c.OK("backup", "-q", src)
	c.OK("forget", "--keep-last", "1")
	c.OK("prune", "--grace", "24h") // marks the forgotten snapshot's packs
	c.OK("verify")                  // writes its state record
	c.OK("backup", "-q", src)       // the newest snapshot, and its run note below
	ids := c.SnapshotIDs(t)
	return &damageBase{home: filepath.Dir(c.Repo), src: src, newest: ids[len(ids)-1], want: clitest.TreeState(t, src)}
}

// objectDirs are the folders of each object kind in a local repository.
var objectDirs = map[string]string{
	"config": "config", "key": "keys", "pack": "data/*", "index": "index",
	"snapshot": "snapshots", "state": "state", "mark": "marks", "note": "locks",
}

func (b *damageBase) clone(t *testing.T, cache bool) *clitest.CLI {
	c := clitest.New(t, cairnBin)
	home := filepath.Dir(c.Repo)
	dirs := []string{"repo", "state"}
	if cache {
		dirs = append(dirs, "cache")
	}
	for _, d := range dirs {
		if out, err := exec.Command("cp", "-a", filepath.Join(b.home, d), home).CombinedOutput(); err != nil {
			t.Fatalf("copy %s: %v\n%s", d, err, out)
		}
	}
	return c
}

// damage breaks one object of kind in c's repository: truncated to half, emptied, or
// replaced by as many random bytes. It returns the object's path in the repository.
// A snapshot row damages the newest record (the one "restore latest" means).
func (b *damageBase) damage(t *testing.T, c *clitest.CLI, kind, how string, rng *rand.Rand) string {
	var names []string
	switch kind {
	case "config":
		names = []string{filepath.Join(c.Repo, "config")}
	case "snapshot":
		names = []string{filepath.Join(c.Repo, "snapshots", b.newest)}
	default:
		names, _ = filepath.Glob(filepath.Join(c.Repo, objectDirs[kind], "*"))
	}
	if len(names) == 0 {
		return ""
	}
	name := names[rng.IntN(len(names))]
	data, err := os.ReadFile(name)
	if err != nil {
		t.Fatal(err)
	}
	switch how {
	case "truncated":
		data = data[:len(data)/2]
	case "emptied":
		data = nil
	case "random":
		for i := range data {
			data[i] = byte(rng.Uint32())
		}
	}
	if err := os.WriteFile(name, data, 0o600); err != nil {
		t.Fatal(err)
	}
	rel, _ := filepath.Rel(c.Repo, name)
	return rel
}

// TestDamagedObjects damages each object kind (truncated, emptied, random bytes), with
// and without the local cache, then restores the newest snapshot and verifies. Every
// row: no panic; a restore that exits 0 restored the source byte for byte; one that
// fails exits 1 or 3 and names the object or the damage; verify exits 4 (damage) for
// every kind but a run note, which is a hint and not data. A damaged newest snapshot
// record stops "restore latest" (exit 1, the record and --skip-damaged named), even
// when the cache holds an intact copy of it. Kinds absent from a quiet
// repository (a mark record, when prune deleted at once; a run note after clean runs)
// are logged and skipped.
func TestDamagedObjects(t *testing.T) {
	t.Parallel()
	b := newDamageBase(t)
	s := seed(t, "damaged objects")
	for _, kind := range []string{"config", "key", "pack", "index", "snapshot", "state", "mark", "note"} {
		for _, how := range []string{"truncated", "emptied", "random"} {
			for _, cache := range []bool{true, false} {
				name := fmt.Sprintf("%s/%s/cache=%v", kind, how, cache)
				t.Run(name, func(t *testing.T) { b.row(t, kind, how, cache, rand.New(rand.NewPCG(s, uint64(len(name))))) })
			}
		}
	}
}

func (b *damageBase) row(t *testing.T, kind, how string, cache bool, rng *rand.Rand) {
	c := b.clone(t, cache)
	rel := b.damage(t, c, kind, how, rng)
	if rel == "" {
		t.Skipf("no %s object in this repository", kind)
	}
	count(1, 1, 0, 0, 0)
	target := t.TempDir()
	r := c.Run("restore", "latest:"+b.src, "--target", target)
	v := c.Run("verify", "--read-data")
	t.Logf("%s: restore exit %d %q; verify exit %d", rel, r.Code, firstLine(r.Stderr), v.Code)
	for _, out := range []string{r.Stderr, v.Stderr} {
		if strings.Contains(out, "panic:") || strings.Contains(out, "goroutine ") {
			t.Fatalf("a panic:\n%s", out)
		}
	}
	if kind == "snapshot" && (r.Code != exitFatal || !strings.Contains(r.Stderr, b.newest[:8]) || !strings.Contains(r.Stderr, "--skip-damaged")) {
		t.Errorf("restore latest with the newest record damaged: exit %d, want %d naming %s and --skip-damaged\n%s",
			r.Code, exitFatal, b.newest[:8], r.Stderr)
	}
	switch r.Code {
	case exitOK:
		clitest.SameState(t, b.want, clitest.TreeState(t, target))
		count(0, 0, 0, 1, 0)
	case exitFatal, exitPartial:
		if !strings.Contains(r.Stderr, "damaged") && !strings.Contains(r.Stderr, "corrupt") && !strings.Contains(r.Stderr, filepath.Base(rel)[:8]) {
			t.Errorf("restore exit %d does not name the damage:\n%s", r.Code, r.Stderr)
		}
	default:
		t.Errorf("restore: exit %d\n%s", r.Code, r.Stderr)
	}
	if want := tier(exitDamage, exitDamage); kind != "note" && v.Code != want && !(kind == "config" || kind == "key") {
		t.Errorf("verify: exit %d, want %d\n%s%s", v.Code, want, v.Stdout, v.Stderr)
	}
	if (kind == "config" || kind == "key") && v.Code == exitOK {
		t.Errorf("verify of a repository with a damaged %s: exit 0", kind)
	}
}

func firstLine(s string) string { l, _, _ := strings.Cut(strings.TrimSpace(s), "\n"); return l }
func lastLine(s string) string {
	s = strings.TrimSpace(s)
	return s[strings.LastIndex(s, "\n")+1:]
}
