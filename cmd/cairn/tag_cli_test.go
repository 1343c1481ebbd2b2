package main

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/cairn-backup/cairn/internal/digest"
	"github.com/cairn-backup/cairn/internal/repo"
	"github.com/cairn-backup/cairn/manifest"
)

func listSnapshots(t *testing.T, c *cli, args ...string) []snapshotJSON {
	t.Helper()
	var snaps []snapshotJSON
	if err := json.Unmarshal([]byte(c.OK(append([]string{"snapshots", "--json"}, args...)...)), &snaps); err != nil {
		t.Fatal(err)
	}
	return snaps
}

// TestFiltersSelectLatest: --host, --tag and --path choose among which snapshots
// "latest" resolves, for restore, ls and verify --against alike.
func TestFiltersSelectLatest(t *testing.T) {
	c := newCLI(t)
	c.OK("init")
	a, b := filepath.Join(t.TempDir(), "a"), filepath.Join(t.TempDir(), "b")
	writeFiles(t, a, map[string]string{"from-a": "1"})
	writeFiles(t, b, map[string]string{"from-b": "2"})
	c.OK("backup", "-q", "--host", "h1", "--tag", "daily", "--tag", "etc", a)
	c.OK("backup", "-q", "--host", "h2", "--tag", "weekly", b)
	c.OK("backup", "-q", "--host", "h2", b)
	all := listSnapshots(t, c)
	if len(all) != 3 {
		t.Fatalf("%d snapshots", len(all))
	}
	for _, tc := range []struct {
		filter []string
		want   string
	}{
		{[]string{"--host", "h1"}, all[0].ID},
		{[]string{"--path", a}, all[0].ID},
		{[]string{"--tag", "daily,etc"}, all[0].ID},
		{[]string{"--tag", "weekly"}, all[1].ID},
		{[]string{"--tag", "daily", "--tag", "weekly"}, all[1].ID},
		{[]string{"--tag", ""}, all[2].ID},
		{[]string{"--host", "h2", "--path", b}, all[2].ID},
	} {
		if got := listSnapshots(t, c, tc.filter...); got[len(got)-1].ID != tc.want {
			t.Errorf("snapshots %q: latest %s, want %s", tc.filter, got[len(got)-1].Short, tc.want[:8])
		}
		var sum restoreSummary
		out := c.OK(append([]string{"restore", "latest", "--json", "--target", t.TempDir()}, tc.filter...)...)
		if err := json.Unmarshal([]byte(out), &sum); err != nil || sum.Snapshot != tc.want {
			t.Errorf("restore latest %q: %s %v, want %s", tc.filter, sum.Snapshot, err, tc.want[:8])
		}
	}
	if out := c.OK("ls", "latest", "--host", "h1"); !strings.Contains(out, "from-a") || strings.Contains(out, "from-b") {
		t.Errorf("ls latest --host h1:\n%s", out)
	}
	if r := c.Run("ls", "latest", "--tag", "daily,weekly"); r.Code != exitFatal || !strings.Contains(r.Stderr, "no snapshot matches") {
		t.Errorf("no snapshot with both tags: exit %d %s", r.Code, r.Stderr)
	}
	out := c.OK("verify", "--json", "--against", b, "--tag", "weekly")
	lines := strings.Split(strings.TrimSpace(out), "\n")
	var cmp struct{ Snapshot string }
	if err := json.Unmarshal([]byte(lines[len(lines)-1]), &cmp); err != nil || cmp.Snapshot != all[1].ID {
		t.Errorf("verify --against --tag weekly compared with %s %v, want %s", cmp.Snapshot, err, all[1].Short)
	}
	if r := c.Run("verify", "--host", "h1"); r.Code != exitFatal {
		t.Errorf("verify with a filter and no --against: exit %d", r.Code)
	}
}

func tagJSON(t *testing.T, c *cli, args ...string) []replacedJSON {
	t.Helper()
	var out []replacedJSON
	if err := json.Unmarshal([]byte(c.OK(append([]string{"tag", "--json"}, args...)...)), &out); err != nil {
		t.Fatal(err)
	}
	return out
}

// TestTagKeepsChain: tags added, removed and set in the middle of a chain leave a
// repository that verifies clean; losing a replacement record is damage.
func TestTagKeepsChain(t *testing.T) {
	c := newCLI(t)
	src := backedUp(t, c)
	for i := range 2 {
		writeFiles(t, src, map[string]string{"a.txt": strings.Repeat("x", i+1)})
		c.OK("backup", "-q", src)
	}
	c.OK("verify") // remembers the three
	mid := listSnapshots(t, c)[1]
	done := tagJSON(t, c, mid.ID[:8], "--add", "keep,monthly")
	if len(done) != 1 || done[0].Old != mid.ID {
		t.Fatalf("tag --add: %+v", done)
	}
	snaps := listSnapshots(t, c)
	if len(snaps) != 3 || snaps[1].ID != done[0].New || !slices.Equal(snaps[1].Tags, []string{"keep", "monthly"}) ||
		snaps[1].Root != mid.Root || !snaps[1].Time.Equal(mid.Time) || snaps[1].Previous != mid.Previous {
		t.Fatalf("after tag: %+v", snaps)
	}
	if out := c.OK("snapshots"); !strings.Contains(out, "keep,monthly") {
		t.Fatalf("snapshots does not show the tags:\n%s", out)
	}
	if out := c.OK("verify"); !strings.Contains(out, "no damage found") || strings.Contains(out, "chain") || strings.Contains(out, "warnings") {
		t.Fatalf("verify after tag:\n%s", out)
	}
	if again := tagJSON(t, c, "latest", "--tag", "keep", "--add", "keep"); len(again) != 0 {
		t.Fatalf("a tag already there rewrote %+v", again)
	}
	done = tagJSON(t, c, "--tag", "keep", "--remove", "monthly")
	done = append(done, tagJSON(t, c, "--tag", "keep", "--set", "a", "--set", "b,c")...)
	snaps = listSnapshots(t, c)
	if len(done) != 2 || !slices.Equal(snaps[1].Tags, []string{"a", "b", "c"}) {
		t.Fatalf("remove then set: %+v, tags %q", done, snaps[1].Tags)
	}
	c.OK("verify")
	for _, bad := range [][]string{{"tag", "--add", "x"}, {"tag", "latest"}, {"tag", "latest", "--set", "a", "--add", "b"}} {
		if r := c.Run(bad...); r.Code != exitFatal {
			t.Errorf("%q: exit %d", bad, r.Code)
		}
	}
	if err := os.Remove(filepath.Join(c.Repo, "snapshots", snaps[1].ID)); err != nil {
		t.Fatal(err)
	}
	if r := c.Run("verify"); r.Code != exitDamage || !strings.Contains(r.Stdout, "chain-broken") {
		t.Fatalf("replacement record deleted: exit %d\n%s", r.Code, r.Stdout)
	}
}

// TestTagKilledBeforeDelete: a tag killed after it saved the new record and recorded
// the replacement, before it deleted the old record, verifies without damage, and the
// same tag command run again finishes it.
func TestTagKilledBeforeDelete(t *testing.T) {
	c := newCLI(t)
	src := backedUp(t, c)
	writeFiles(t, src, map[string]string{"a.txt": "changed"})
	c.OK("backup", "-q", src)
	c.OK("verify")
	old := listSnapshots(t, c)[0]
	r := openForTest(t, c)
	ctx := context.Background()
	id, _ := digest.Parse(old.ID)
	plain, err := r.LoadSnapshot(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	s, err := manifest.DecodeSnapshot(plain)
	if err != nil {
		t.Fatal(err)
	}
	s.Tags = []string{"x"}
	record, _ := s.Encode()
	newID, err := r.SaveSnapshot(ctx, record)
	if err != nil {
		t.Fatal(err)
	}
	if err := r.RecordReplaced(ctx, []repo.Replacement{{Old: id, New: newID}}); err != nil {
		t.Fatal(err)
	}
	r.Close()
	if out := c.OK("verify"); !strings.Contains(out, "no damage found") || !strings.Contains(out, "replaced") {
		t.Fatalf("verify with both records:\n%s", out)
	}
	done := tagJSON(t, c, old.ID, "--add", "x")
	if len(done) != 1 || done[0].New != newID.String() || len(listSnapshots(t, c)) != 2 {
		t.Fatalf("tag run again: %+v", done)
	}
	if out := c.OK("verify"); strings.Contains(out, "warnings") {
		t.Fatalf("verify after the tag finished:\n%s", out)
	}
}
