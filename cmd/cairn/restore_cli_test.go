package main

import (
	"context"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"maps"
	"math/rand/v2"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/cairn-backup/cairn/internal/digest"
	"github.com/cairn-backup/cairn/internal/repo"
	"github.com/cairn-backup/cairn/manifest"
)

// treeState describes a tree for comparison: per path, type, mode, size, mtime, hash.
func treeState(t *testing.T, root string) map[string]string {
	t.Helper()
	out, err := stateOf(root)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// stateOf is treeState for goroutines other than the test's: it returns its error.
func stateOf(root string) (map[string]string, error) {
	out := map[string]string{}
	err := filepath.Walk(root, func(p string, fi os.FileInfo, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, p)
		desc := fmt.Sprintf("%v %d", fi.Mode(), fi.ModTime().UnixNano())
		if rel == "." {
			desc = fi.Mode().String()
		}
		if fi.Mode().IsRegular() {
			data, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			desc += fmt.Sprintf(" %d %x", len(data), sha256.Sum256(data))
		}
		out[rel] = desc
		return nil
	})
	return out, err
}

// sameState compares the entries below two roots; the roots themselves are not
// compared: a directory restored by path lands in the target, whose own mode and
// times restore leaves alone (as restic does).
func sameState(t *testing.T, want, got map[string]string) {
	t.Helper()
	want, got = maps.Clone(want), maps.Clone(got)
	delete(want, ".")
	delete(got, ".")
	for p, w := range want {
		if got[p] != w {
			t.Errorf("%s: got %q, want %q", p, got[p], w)
		}
	}
	for p := range got {
		if _, ok := want[p]; !ok {
			t.Errorf("%s: not in the snapshot", p)
		}
	}
}

func restoreSummaryOf(t *testing.T, out string) restoreSummary {
	t.Helper()
	var sum restoreSummary
	if err := json.Unmarshal([]byte(out), &sum); err != nil {
		t.Fatalf("summary %q: %v", out, err)
	}
	return sum
}

func TestRestoreCLI(t *testing.T) {
	c := newCLI(t)
	c.ok("init")
	src := filepath.Join(t.TempDir(), "src")
	writeFiles(t, src, map[string]string{"a": "alpha", "d/b": "beta", "d/e/c": "gamma"})
	c.ok("backup", "--tag", "one", src)
	want := treeState(t, src)

	target := filepath.Join(t.TempDir(), "t")
	sum := restoreSummaryOf(t, c.ok("restore", "latest:"+src, "--target", target, "--json"))
	if sum.Files != 3 || sum.Dirs != 2 || sum.Bytes != 14 || sum.Errors != 0 || sum.Snapshot == "" {
		t.Fatalf("summary %+v", sum)
	}
	sameState(t, want, treeState(t, target))

	dry := filepath.Join(t.TempDir(), "dry")
	out := c.ok("restore", "latest", "--target", dry, "--dry-run")
	if strings.Contains(out, "would restore") || !strings.Contains(out, "would be restored (dry run)") {
		t.Fatalf("dry run output without -v:\n%s", out)
	}
	out = c.ok("restore", "latest", "--target", dry, "--dry-run", "-v")
	if !strings.Contains(out, "would restore") || !strings.Contains(out, src+"/d/e/c") {
		t.Fatalf("dry run output with -v:\n%s", out)
	}
	if _, err := os.Lstat(dry); !os.IsNotExist(err) {
		t.Fatalf("--dry-run created the target: %v", err)
	}

	writeFiles(t, target, map[string]string{"a": "mine!", "extra": "x", "d/more/y": "y"})
	sum = restoreSummaryOf(t, c.ok("restore", "latest:"+src, "--target", target, "--overwrite", "never", "--json"))
	if b, _ := os.ReadFile(filepath.Join(target, "a")); string(b) != "mine!" || sum.Kept != 3 {
		t.Fatalf("--overwrite never replaced a: %q %+v", b, sum)
	}
	sum = restoreSummaryOf(t, c.ok("restore", "latest:"+src, "--target", target, "--delete", "--json"))
	if sum.Deleted != 2 || sum.Files != 1 || sum.Unchanged != 2 {
		t.Fatalf("--delete summary %+v", sum)
	}
	sameState(t, want, treeState(t, target))

	for _, args := range [][]string{
		{"restore", "nosuchid", "--target", target},
		{"restore", "latest", "--target", target, "--tag", "two"},
		{"restore", "--at", "2001-01-01", "--target", target},
		{"restore", "latest", "--target", target, "--overwrite", "sometimes"},
		{"restore", "latest:/not/there", "--target", target},
	} {
		if r := c.run(args...); r.code != exitFatal {
			t.Errorf("cairn %s: exit %d, want %d\n%s", strings.Join(args, " "), r.code, exitFatal, r.stderr)
		}
	}
	later := time.Now().Add(time.Hour).Format("2006-01-02 15:04")
	c.ok("restore", "--at", later, "--target", t.TempDir(), "--tag", "one")
}

// TestRestoreDamagedPackExit3 flips a byte in every blob of one data pack: the restore
// exits 3 naming exactly the files using that pack, and restores all others.
func TestRestoreDamagedPackExit3(t *testing.T) {
	c := newCLI(t)
	c.ok("init", "--pack-size", "1")
	src := filepath.Join(t.TempDir(), "src")
	bigRandomFiles(t, src, 12, 300<<10, 3)
	c.ok("backup", src)
	pack, users := damageOnePack(t, c)
	target := t.TempDir()
	r := c.run("restore", "latest", "--target", target, "--json")
	if r.code != exitPartial {
		t.Fatalf("exit %d, want %d\n%s", r.code, exitPartial, r.stderr)
	}
	sum := restoreSummaryOf(t, r.stdout)
	var named []string
	for _, p := range sum.Problems {
		named = append(named, p.Path)
		if !p.Damaged || !strings.Contains(r.stderr, "damaged: "+p.Path+":") {
			t.Errorf("%s not reported as damaged on stderr:\n%s", p.Path, r.stderr)
		}
	}
	sort.Strings(named)
	if strings.Join(named, " ") != strings.Join(users, " ") {
		t.Fatalf("pack %s: named %v, want %v", pack.Short(), named, users)
	}
	for p, w := range treeState(t, src) {
		full := "/" + filepath.Join(src[1:], p)
		got := treeState(t, filepath.Join(target, src))[p]
		if damaged := sort.SearchStrings(users, full) < len(users) && users[sort.SearchStrings(users, full)] == full; damaged {
			if got != "" {
				t.Errorf("damaged %s was restored", full)
			}
		} else if got != w {
			t.Errorf("%s: got %q, want %q", p, got, w)
		}
	}
}

// damageOnePack flips a byte in every blob of the data pack used by the fewest files
// and returns it with those files (sorted).
func damageOnePack(t *testing.T, c *cli) (digest.ID, []string) {
	t.Helper()
	ctx := context.Background()
	r := openForTest(t, c)
	defer r.Close()
	snaps, _, err := r.LoadSnapshots(ctx)
	if err != nil || len(snaps) == 0 {
		t.Fatal(err)
	}
	users := map[digest.ID][]string{}
	s := snaps[len(snaps)-1]
	err = manifest.Walk(ctx, r, s.Tree, s.Root, func(p string, e *manifest.Entry) error {
		if e.Type != manifest.File {
			return nil
		}
		chunks, err := manifest.ReadChunks(ctx, r, e)
		seen := map[digest.ID]bool{}
		for _, ch := range chunks {
			loc, _ := r.Lookup(repo.DataBlob, ch.ID)
			if !seen[loc.Pack] {
				seen[loc.Pack] = true
				users[loc.Pack] = append(users[loc.Pack], "/"+p)
			}
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	var pick digest.ID
	for p, fs := range users {
		if pick.IsZero() || len(fs) < len(users[pick]) || len(fs) == len(users[pick]) && p.String() < pick.String() {
			pick = p
		}
	}
	file := filepath.Join(c.repo, "data", pick.String()[:2], pick.String())
	data, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	r.EachBlob(func(loc repo.Blob) bool {
		if loc.Pack == pick {
			data[loc.Offset+loc.Length/2] ^= 0x80
		}
		return true
	})
	if err := os.WriteFile(file, data, 0o600); err != nil {
		t.Fatal(err)
	}
	sort.Strings(users[pick])
	return pick, users[pick]
}

// TestKilledRestoreRerunEqualsSnapshot kills restores with SIGKILL at seeded moments;
// each rerun must finish and leave exactly the snapshot, without temporary files.
func TestKilledRestoreRerunEqualsSnapshot(t *testing.T) {
	c := newCLI(t)
	c.ok("init", "--pack-size", "4")
	src := filepath.Join(t.TempDir(), "src")
	bigRandomFiles(t, src, 30, 1<<20, 21)
	small := map[string]string{}
	for i := 0; i < 2000; i++ {
		small[fmt.Sprintf("small/d%02d/f%04d", i%20, i)] = strings.Repeat(string(rune('a'+i%26)), 1+i%700)
	}
	writeFiles(t, src, small)
	c.ok("backup", src)
	want := treeState(t, src)
	start := time.Now()
	c.ok("restore", "latest:"+src, "--target", t.TempDir())
	full := time.Since(start)
	target := t.TempDir()
	rng := rand.New(rand.NewPCG(2026, 7))
	for i := 0; i < 3; i++ {
		cmd := c.cmd("restore", "latest:"+src, "--target", target)
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		// Between 40 % and 95 % of a full run: past start-up, before the end.
		time.Sleep(full * time.Duration(40+rng.IntN(55)) / 100)
		_ = cmd.Process.Signal(syscall.SIGKILL)
		_ = cmd.Wait()
	}
	sum := restoreSummaryOf(t, c.ok("restore", "latest:"+src, "--target", target, "--json"))
	t.Logf("a full restore takes %s; after the kills, the rerun wrote %d files and found %d unchanged", full, sum.Files, sum.Unchanged)
	if sum.Unchanged == 0 {
		t.Log("no kill landed after a file was put in place")
	}
	sameState(t, want, treeState(t, target))
}

// TestRestoreAsUser restores as an unprivileged user (CI runs as root): no owners are
// set, setuid bits are dropped, and unnamed temporary files are linked through
// /proc/self/fd, which needs no privilege.
func TestRestoreAsUser(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root to switch to an unprivileged user")
	}
	c := newCLI(t)
	c.ok("init")
	src := filepath.Join(t.TempDir(), "src")
	writeFiles(t, src, map[string]string{"suid": "s", "d/f": "f", "d/g": strings.Repeat("g", 5<<20), "locked/h": "h"})
	for p, mode := range map[string]os.FileMode{"suid": 0o4755, "locked": 0} {
		if err := os.Chmod(filepath.Join(src, p), mode); err != nil {
			t.Fatal(err)
		}
	}
	c.ok("backup", src)
	target := filepath.Join(filepath.Dir(c.repo), "restored")
	// Run twice: the second run finds a directory of mode 000 that the first made, and
	// must still finish with nothing to report.
	for run := 1; run <= 2; run++ {
		cmd := c.cmd("restore", "latest:"+src, "--target", target)
		asNobody(t, cmd, c)
		if r := runCmd(t, cmd); r.code != 0 {
			t.Fatalf("restore %d as nobody: exit %d\n%s%s", run, r.code, r.stdout, r.stderr)
		}
	}
	for p, want := range map[string]os.FileMode{"suid": 0o755, "d/f": 0o644, "d/g": 0o644, "locked": os.ModeDir} {
		fi, err := os.Lstat(filepath.Join(target, p))
		if err != nil {
			t.Fatal(err)
		}
		st := fi.Sys().(*syscall.Stat_t)
		if fi.Mode() != want || st.Uid != 65534 {
			t.Errorf("%s: mode %v uid %d, want %v and 65534", p, fi.Mode(), st.Uid, want)
		}
	}
	if b, _ := os.ReadFile(filepath.Join(target, "d", "g")); len(b) != 5<<20 {
		t.Errorf("d/g has %d bytes", len(b))
	}
}

// TestFormat1Repository: a repository in the previous format (XChaCha20-Poly1305),
// which earlier cairn releases wrote, still backs up, verifies and restores exactly.
func TestFormat1Repository(t *testing.T) {
	c := newCLI(t)
	if r := c.run("init", "--repository-version", "3"); r.code != exitFatal || !strings.Contains(r.stderr, "format version 3") {
		t.Fatalf("init --repository-version 3: exit %d, %s", r.code, r.stderr)
	}
	c.ok("init", "--repository-version", "1")
	src := filepath.Join(t.TempDir(), "src")
	writeFiles(t, src, map[string]string{"a": strings.Repeat("alpha", 1e5), "d/b": "beta"})
	c.ok("backup", src)
	c.ok("verify", "--read-data")
	if cfg, err := os.ReadFile(filepath.Join(c.repo, "config")); err != nil || len(cfg) < 9 || cfg[8] != 1 {
		t.Fatalf("config is not format 1: %v", err)
	}
	target := filepath.Join(t.TempDir(), "t")
	c.ok("restore", "latest:"+src, "--target", target)
	sameState(t, treeState(t, src), treeState(t, target))
}
