package main

import (
	"context"

	"encoding/json"

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
	c.OK("init")
	src := filepath.Join(t.TempDir(), "src")
	writeFiles(t, src, map[string]string{"a": "alpha", "d/b": "beta", "d/e/c": "gamma"})
	c.OK("backup", "--tag", "one", src)
	want := treeState(t, src)

	target := filepath.Join(t.TempDir(), "t")
	sum := restoreSummaryOf(t, c.OK("restore", "latest:"+src, "--target", target, "--json"))
	if sum.Files != 3 || sum.Dirs != 2 || sum.Bytes != 14 || sum.Errors != 0 || sum.Snapshot == "" {
		t.Fatalf("summary %+v", sum)
	}
	sameState(t, want, treeState(t, target))

	dry := filepath.Join(t.TempDir(), "dry")
	out := c.OK("restore", "latest", "--target", dry, "--dry-run")
	if strings.Contains(out, "would restore") || !strings.Contains(out, "would be restored (dry run)") {
		t.Fatalf("dry run output without -v:\n%s", out)
	}
	out = c.OK("restore", "latest", "--target", dry, "--dry-run", "-v")
	if !strings.Contains(out, "would restore") || !strings.Contains(out, src+"/d/e/c") {
		t.Fatalf("dry run output with -v:\n%s", out)
	}
	if _, err := os.Lstat(dry); !os.IsNotExist(err) {
		t.Fatalf("--dry-run created the target: %v", err)
	}

	writeFiles(t, target, map[string]string{"a": "mine!", "extra": "x", "d/more/y": "y"})
	sum = restoreSummaryOf(t, c.OK("restore", "latest:"+src, "--target", target, "--overwrite", "never", "--json"))
	if b, _ := os.ReadFile(filepath.Join(target, "a")); string(b) != "mine!" || sum.Kept != 3 {
		t.Fatalf("--overwrite never replaced a: %q %+v", b, sum)
	}
	sum = restoreSummaryOf(t, c.OK("restore", "latest:"+src, "--target", target, "--delete", "--json"))
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
		if r := c.Run(args...); r.Code != exitFatal {
			t.Errorf("cairn %s: exit %d, want %d\n%s", strings.Join(args, " "), r.Code, exitFatal, r.Stderr)
		}
	}
	later := time.Now().Add(time.Hour).Format("2006-01-02 15:04")
	c.OK("restore", "--at", later, "--target", t.TempDir(), "--tag", "one")
}

// TestRestoreDamagedPackExit3 flips a byte in every blob of one data pack: the restore
// exits 3 naming exactly the files using that pack, and restores all others.
func TestRestoreDamagedPackExit3(t *testing.T) {
	c := newCLI(t)
	c.OK("init", "--pack-size", "1")
	src := filepath.Join(t.TempDir(), "src")
	bigRandomFiles(t, src, 12, 300<<10, 3)
	c.OK("backup", src)
	pack, users := damageOnePack(t, c)
	target := t.TempDir()
	r := c.Run("restore", "latest", "--target", target, "--json")
	if r.Code != exitPartial {
		t.Fatalf("exit %d, want %d\n%s", r.Code, exitPartial, r.Stderr)
	}
	sum := restoreSummaryOf(t, r.Stdout)
	var named []string
	for _, p := range sum.Problems {
		named = append(named, p.Path)
		if !p.Damaged || !strings.Contains(r.Stderr, "damaged: "+p.Path+":") {
			t.Errorf("%s not reported as damaged on stderr:\n%s", p.Path, r.Stderr)
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
	file := filepath.Join(c.Repo, "data", pick.String()[:2], pick.String())
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

// TestRestoreAsUser restores as an unprivileged user (CI runs as root): no owners are
// set, setuid bits are dropped, and unnamed temporary files are linked through
// /proc/self/fd, which needs no privilege.
func TestRestoreAsUser(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root to switch to an unprivileged user")
	}
	c := newCLI(t)
	c.OK("init")
	src := filepath.Join(t.TempDir(), "src")
	writeFiles(t, src, map[string]string{"suid": "s", "d/f": "f", "d/g": strings.Repeat("g", 5<<20), "locked/h": "h"})
	for p, mode := range map[string]os.FileMode{"suid": 0o4755, "locked": 0} {
		if err := os.Chmod(filepath.Join(src, p), mode); err != nil {
			t.Fatal(err)
		}
	}
	c.OK("backup", src)
	target := filepath.Join(filepath.Dir(c.Repo), "restored")
	// Run twice: the second run finds a directory of mode 000 that the first made, and
	// must still finish with nothing to report.
	for run := 1; run <= 2; run++ {
		cmd := c.Cmd("restore", "latest:"+src, "--target", target)
		asNobody(t, cmd, c)
		if r := runCmd(t, cmd); r.Code != 0 {
			t.Fatalf("restore %d as nobody: exit %d\n%s%s", run, r.Code, r.Stdout, r.Stderr)
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
	if r := c.Run("init", "--repository-version", "3"); r.Code != exitFatal || !strings.Contains(r.Stderr, "format version 3") {
		t.Fatalf("init --repository-version 3: exit %d, %s", r.Code, r.Stderr)
	}
	c.OK("init", "--repository-version", "1")
	src := filepath.Join(t.TempDir(), "src")
	writeFiles(t, src, map[string]string{"a": strings.Repeat("alpha", 1e5), "d/b": "beta"})
	c.OK("backup", src)
	c.OK("verify", "--read-data")
	if cfg, err := os.ReadFile(filepath.Join(c.Repo, "config")); err != nil || len(cfg) < 9 || cfg[8] != 1 {
		t.Fatalf("config is not format 1: %v", err)
	}
	target := filepath.Join(t.TempDir(), "t")
	c.OK("restore", "latest:"+src, "--target", target)
	sameState(t, treeState(t, src), treeState(t, target))
}
