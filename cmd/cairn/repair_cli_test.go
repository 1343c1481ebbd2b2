package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
)

func repairIndexOf(t *testing.T, c *cli, args ...string) repairIndexJSON {
	t.Helper()
	var out repairIndexJSON
	if err := json.Unmarshal([]byte(c.OK(append([]string{"repair", "index", "--json"}, args...)...)), &out); err != nil {
		t.Fatal(err)
	}
	return out
}

func repairSnapshotsOf(t *testing.T, c *cli, args ...string) repairSnapshotsJSON {
	t.Helper()
	var out repairSnapshotsJSON
	if err := json.Unmarshal([]byte(c.OK(append([]string{"repair", "snapshots", "--json"}, args...)...)), &out); err != nil {
		t.Fatal(err)
	}
	return out
}

func wantExit(t *testing.T, r result, code int, what string) {
	t.Helper()
	if r.Code != code {
		t.Fatalf("%s: exit %d, want %d\n%s%s", what, r.Code, code, r.Stdout, r.Stderr)
	}
}

// A deleted pack: verify reports damage; repair index drops the pack, repair snapshots
// replaces the snapshot by one without exactly the files that needed it; then verify
// is clean and the repaired snapshot restores everything else byte for byte.
func TestRepairAfterDeletedPack(t *testing.T) {
	c := newCLI(t)
	c.OK("init", "--pack-size", "1")
	src := filepath.Join(t.TempDir(), "src")
	bigRandomFiles(t, src, 12, 300<<10, 5)
	c.OK("backup", src)
	pack, users := damageOnePack(t, c)
	if err := os.Remove(filepath.Join(c.Repo, "data", pack.String()[:2], pack.String())); err != nil {
		t.Fatal(err)
	}
	wantExit(t, c.Run("verify"), exitDamage, "verify after a deleted pack")

	if dry := repairIndexOf(t, c, "--dry-run"); len(dry.Dropped) != 1 || !dry.DryRun {
		t.Fatalf("dry run: %+v", dry)
	}
	wantExit(t, c.Run("verify"), exitDamage, "verify after a dry run")
	ri := repairIndexOf(t, c)
	if len(ri.Dropped) != 1 || ri.Dropped[0] != pack.String() || len(ri.DamagedPacks) != 0 {
		t.Fatalf("repair index: %+v, want pack %s dropped", ri, pack.Short())
	}
	dry := repairSnapshotsOf(t, c, "--dry-run")
	rs := repairSnapshotsOf(t, c)
	var lost []string
	for _, l := range rs.Lost {
		lost = append(lost, l.Path)
	}
	sort.Strings(lost)
	if len(rs.Repaired) != 1 || strings.Join(lost, " ") != strings.Join(users, " ") {
		t.Fatalf("repair snapshots: %+v, want the files %v lost", rs, users)
	}
	if len(dry.Repaired) != 1 || dry.Repaired[0] != rs.Repaired[0] {
		t.Fatalf("dry run said %+v, the run did %+v", dry.Repaired, rs.Repaired)
	}
	if out := c.OK("verify"); !strings.Contains(out, "no damage found") {
		t.Fatalf("verify after repair:\n%s", out)
	}
	if again := repairSnapshotsOf(t, c); len(again.Repaired) != 0 {
		t.Fatalf("a second run repaired %+v", again.Repaired)
	}
	snaps := listSnapshots(t, c)
	if len(snaps) != 1 || snaps[0].ID != rs.Repaired[0].New || !strings.Contains(strings.Join(snaps[0].Tags, ","), "repaired") {
		t.Fatalf("snapshots after repair: %+v", snaps)
	}
	target := t.TempDir()
	c.OK("restore", "latest", "--target", target)
	got := treeState(t, filepath.Join(target, src))
	for p, w := range treeState(t, src) {
		full := "/" + filepath.Join(src[1:], p)
		i := sort.SearchStrings(users, full)
		if lostFile := i < len(users) && users[i] == full; lostFile != (got[p] == "") || !lostFile && got[p] != w {
			t.Errorf("%s: restored %q, want %q (lost: %v)", p, got[p], w, lostFile)
		}
	}
}

// indexFiles returns the index segments' file names.
func indexFiles(t *testing.T, c *cli) []string {
	t.Helper()
	var names []string
	err := filepath.WalkDir(filepath.Join(c.Repo, "index"), func(p string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			names = append(names, p)
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	sort.Strings(names)
	return names
}

// A damaged index segment, with no cache (a new machine): restore and backup work and
// say what is damaged; verify reports it; repair index, killed between writing the
// new segments and deleting the old ones and run again, leaves verify clean.
func TestDamagedIndexSegmentWithoutCache(t *testing.T) {
	c := newCLI(t)
	c.OK("init", "--pack-size", "1")
	src := filepath.Join(t.TempDir(), "src")
	bigRandomFiles(t, src, 6, 200<<10, 7)
	c.OK("backup", src)
	first := indexFiles(t, c)
	bigRandomFiles(t, filepath.Join(src, "more"), 4, 200<<10, 8)
	c.OK("backup", src)
	if len(first) != 1 {
		t.Fatalf("first backup wrote %d index segments", len(first))
	}
	if err := os.WriteFile(first[0], []byte("not an index segment at all, just some bytes"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, snap := range listSnapshots(t, c) {
		target := t.TempDir()
		r := c.Run("--no-cache", "restore", snap.ID, "--target", target)
		wantExit(t, r, 0, "restore with a damaged index segment")
		if !strings.Contains(r.Stderr, "is damaged") || !strings.Contains(r.Stderr, "run 'cairn repair index'") {
			t.Fatalf("restore did not name the damaged segment:\n%s", r.Stderr)
		}
	}
	target := t.TempDir()
	c.OK("--no-cache", "restore", "latest", "--target", target)
	sameState(t, treeState(t, src), treeState(t, filepath.Join(target, src)))
	wantExit(t, c.Run("--no-cache", "backup", src), 0, "backup with a damaged index segment")
	wantExit(t, c.Run("verify"), exitDamage, "verify with a damaged index segment")
	wantExit(t, c.Run("prune"), exitFatal, "prune with a damaged index segment")

	// The state of a repair killed after writing its segments: old and new side by side.
	old := map[string][]byte{}
	for _, f := range indexFiles(t, c) {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		old[f] = b
	}
	repairIndexOf(t, c)
	for f, b := range old {
		if err := os.WriteFile(f, b, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	ri := repairIndexOf(t, c)
	if len(ri.DamagedSegments) != 1 || len(indexFiles(t, c)) != ri.NewSegments {
		t.Fatalf("rerun: %+v; %d segments left", ri, len(indexFiles(t, c)))
	}
	if out := c.OK("verify", "--read-data"); !strings.Contains(out, "no damage found") {
		t.Fatalf("verify after repair index:\n%s", out)
	}
}

// restore latest whose newest snapshot record is damaged says so and exits 1; with
// --skip-damaged it restores the newest readable snapshot and says which.
func TestRestoreLatestWithDamagedNewestRecord(t *testing.T) {
	c := newCLI(t)
	c.OK("init")
	src := filepath.Join(t.TempDir(), "src")
	writeFiles(t, src, map[string]string{"a": "one"})
	c.OK("backup", src)
	older := listSnapshots(t, c)[0].ID
	writeFiles(t, src, map[string]string{"a": "two"})
	c.OK("backup", src)
	snaps := listSnapshots(t, c)
	newest := snaps[len(snaps)-1].ID
	file := filepath.Join(c.Repo, "snapshots", newest)
	if _, err := os.Stat(file); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(file, []byte("garbage"), 0o600); err != nil {
		t.Fatal(err)
	}
	// With the cache, which holds an intact copy of the record, as without it: the
	// storage is the truth.
	for _, flags := range [][]string{{}, {"--no-cache"}} {
		r := c.Run(append(flags, "restore", "latest", "--target", t.TempDir())...)
		wantExit(t, r, exitFatal, fmt.Sprint("restore latest ", flags))
		if !strings.Contains(r.Stderr, newest[:8]) || !strings.Contains(r.Stderr, "--skip-damaged") {
			t.Fatalf("restore latest %v did not name the damaged record:\n%s", flags, r.Stderr)
		}
	}
	wantExit(t, c.Run("--no-cache", "restore", "--at", "2999-01-01", "--target", t.TempDir()), exitFatal, "restore --at")
	wantExit(t, c.Run("--no-cache", "restore", older, "--target", t.TempDir()), 0, "restore by id")
	target := t.TempDir()
	r := c.Run("--no-cache", "restore", "latest", "--skip-damaged", "--target", target)
	wantExit(t, r, 0, "restore latest --skip-damaged")
	if !strings.Contains(r.Stderr, "restoring snapshot "+older[:8]) {
		t.Fatalf("--skip-damaged did not say which snapshot:\n%s", r.Stderr)
	}
	if b, err := os.ReadFile(filepath.Join(target, src, "a")); err != nil || string(b) != "one" {
		t.Fatalf("restored %q, %v", b, err)
	}
}
