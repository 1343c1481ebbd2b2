package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
)

func repairIndexOf(t *testing.T, c *cli, args ...string) repairIndexJSON {
	t.Helper()
	var out repairIndexJSON
	if err := json.Unmarshal([]byte(c.ok(append([]string{"repair", "index", "--json"}, args...)...)), &out); err != nil {
		t.Fatal(err)
	}
	return out
}

func repairSnapshotsOf(t *testing.T, c *cli, args ...string) repairSnapshotsJSON {
	t.Helper()
	var out repairSnapshotsJSON
	if err := json.Unmarshal([]byte(c.ok(append([]string{"repair", "snapshots", "--json"}, args...)...)), &out); err != nil {
		t.Fatal(err)
	}
	return out
}

func wantExit(t *testing.T, r result, code int, what string) {
	t.Helper()
	if r.code != code {
		t.Fatalf("%s: exit %d, want %d\n%s%s", what, r.code, code, r.stdout, r.stderr)
	}
}

// A deleted pack: verify reports damage; repair index drops the pack, repair snapshots
// replaces the snapshot by one without exactly the files that needed it; then verify
// is clean and the repaired snapshot restores everything else byte for byte.
func TestRepairAfterDeletedPack(t *testing.T) {
	c := newCLI(t)
	c.ok("init", "--pack-size", "1")
	src := filepath.Join(t.TempDir(), "src")
	bigRandomFiles(t, src, 12, 300<<10, 5)
	c.ok("backup", src)
	pack, users := damageOnePack(t, c)
	if err := os.Remove(filepath.Join(c.repo, "data", pack.String()[:2], pack.String())); err != nil {
		t.Fatal(err)
	}
	wantExit(t, c.run("verify"), exitDamage, "verify after a deleted pack")

	if dry := repairIndexOf(t, c, "--dry-run"); len(dry.Dropped) != 1 || !dry.DryRun {
		t.Fatalf("dry run: %+v", dry)
	}
	wantExit(t, c.run("verify"), exitDamage, "verify after a dry run")
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
	if out := c.ok("verify"); !strings.Contains(out, "no damage found") {
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
	c.ok("restore", "latest", "--target", target)
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
	err := filepath.WalkDir(filepath.Join(c.repo, "index"), func(p string, d os.DirEntry, err error) error {
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
	c.ok("init", "--pack-size", "1")
	src := filepath.Join(t.TempDir(), "src")
	bigRandomFiles(t, src, 6, 200<<10, 7)
	c.ok("backup", src)
	first := indexFiles(t, c)
	bigRandomFiles(t, filepath.Join(src, "more"), 4, 200<<10, 8)
	c.ok("backup", src)
	if len(first) != 1 {
		t.Fatalf("first backup wrote %d index segments", len(first))
	}
	if err := os.WriteFile(first[0], []byte("not an index segment at all, just some bytes"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, snap := range listSnapshots(t, c) {
		target := t.TempDir()
		r := c.run("--no-cache", "restore", snap.ID, "--target", target)
		wantExit(t, r, 0, "restore with a damaged index segment")
		if !strings.Contains(r.stderr, "is damaged") || !strings.Contains(r.stderr, "run 'cairn repair index'") {
			t.Fatalf("restore did not name the damaged segment:\n%s", r.stderr)
		}
	}
	target := t.TempDir()
	c.ok("--no-cache", "restore", "latest", "--target", target)
	sameState(t, treeState(t, src), treeState(t, filepath.Join(target, src)))
	wantExit(t, c.run("--no-cache", "backup", src), 0, "backup with a damaged index segment")
	wantExit(t, c.run("verify"), exitDamage, "verify with a damaged index segment")
	wantExit(t, c.run("prune"), exitFatal, "prune with a damaged index segment")

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
	if out := c.ok("verify", "--read-data"); !strings.Contains(out, "no damage found") {
		t.Fatalf("verify after repair index:\n%s", out)
	}
}

// restore latest whose newest snapshot record is damaged says so and exits 1; with
// --skip-damaged it restores the newest readable snapshot and says which.
func TestRestoreLatestWithDamagedNewestRecord(t *testing.T) {
	c := newCLI(t)
	c.ok("init")
	src := filepath.Join(t.TempDir(), "src")
	writeFiles(t, src, map[string]string{"a": "one"})
	c.ok("backup", src)
	older := listSnapshots(t, c)[0].ID
	writeFiles(t, src, map[string]string{"a": "two"})
	c.ok("backup", src)
	snaps := listSnapshots(t, c)
	newest := snaps[len(snaps)-1].ID
	file := filepath.Join(c.repo, "snapshots", newest)
	if _, err := os.Stat(file); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(file, []byte("garbage"), 0o600); err != nil {
		t.Fatal(err)
	}
	r := c.run("--no-cache", "restore", "latest", "--target", t.TempDir())
	wantExit(t, r, exitFatal, "restore latest")
	if !strings.Contains(r.stderr, newest[:8]) || !strings.Contains(r.stderr, "--skip-damaged") {
		t.Fatalf("restore latest did not name the damaged record:\n%s", r.stderr)
	}
	wantExit(t, c.run("--no-cache", "restore", "--at", "2999-01-01", "--target", t.TempDir()), exitFatal, "restore --at")
	wantExit(t, c.run("--no-cache", "restore", older, "--target", t.TempDir()), 0, "restore by id")
	target := t.TempDir()
	r = c.run("--no-cache", "restore", "latest", "--skip-damaged", "--target", target)
	wantExit(t, r, 0, "restore latest --skip-damaged")
	if !strings.Contains(r.stderr, "restoring snapshot "+older[:8]) {
		t.Fatalf("--skip-damaged did not say which snapshot:\n%s", r.stderr)
	}
	if b, err := os.ReadFile(filepath.Join(target, src, "a")); err != nil || string(b) != "one" {
		t.Fatalf("restored %q, %v", b, err)
	}
}
