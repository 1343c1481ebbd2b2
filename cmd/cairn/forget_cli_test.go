package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/cairn-backup/cairn/backup/verify"
)

// nightly makes n snapshots of one changing tree, with extra backup flags, and
// returns their ids oldest first.
func nightly(t *testing.T, c *cli, src string, n int, flags ...string) {
	t.Helper()
	for i := range n {
		writeFiles(t, src, map[string]string{"night": strings.Repeat("x", i+1)})
		c.OK(append([]string{"backup", "-q", src}, flags...)...)
	}
}

func snapshotIDs(t *testing.T, c *cli, flags ...string) []string { return c.SnapshotIDs(t, flags...) }

// forgetGroups runs forget --json and returns the groups it printed.
func forgetGroups(t *testing.T, c *cli, args ...string) []forgetGroupJSON {
	t.Helper()
	var groups []forgetGroupJSON
	out := c.OK(append([]string{"forget", "--json"}, args...)...)
	if err := json.Unmarshal([]byte(out), &groups); err != nil {
		t.Fatalf("forget --json: %v\n%s", err, out)
	}
	return groups
}

func removedIDs(groups []forgetGroupJSON) []string {
	var ids []string
	for _, g := range groups {
		for _, s := range g.Remove {
			ids = append(ids, s.ID)
		}
	}
	slices.Sort(ids)
	return ids
}

// dirState names every file under dir with its mtime, to show a dry run wrote
// nothing; pins, which every opening of the repository refreshes, are left out.
func dirState(t *testing.T, dir string) []string {
	t.Helper()
	var out []string
	err := filepath.Walk(dir, func(p string, fi os.FileInfo, err error) error {
		if err == nil && !strings.Contains(p, "/pins") {
			out = append(out, strings.TrimPrefix(p, dir)+" "+fi.ModTime().String())
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// forget --dry-run names exactly what the real run removes and changes nothing; after
// the real run verify finds no damage and notes the gap as forgotten.
func TestForgetDryRunEqualsRealRunAndVerifies(t *testing.T) {
	c := newCLI(t)
	c.OK("init")
	src := filepath.Join(t.TempDir(), "src")
	nightly(t, c, src, 5)
	nightly(t, c, src, 1, "--tag", "release")
	all := snapshotIDs(t, c)
	state := filepath.Join(filepath.Dir(c.Repo), "state")
	beforeRepo, beforeState := dirState(t, c.Repo), dirState(t, state)

	dry := forgetGroups(t, c, "--keep-last", "2", "--keep-tag", "release", "--dry-run")
	if !slices.Equal(dirState(t, c.Repo), beforeRepo) || !slices.Equal(dirState(t, state), beforeState) {
		t.Fatal("forget --dry-run changed the repository or the client's state")
	}
	real := forgetGroups(t, c, "--keep-last", "2", "--keep-tag", "release")
	if !slices.Equal(removedIDs(dry), removedIDs(real)) || len(removedIDs(real)) != 4 {
		t.Fatalf("dry run removes %v\nreal run removes %v (want 4)", removedIDs(dry), removedIDs(real))
	}
	if left := snapshotIDs(t, c); !slices.Equal(left, all[4:]) {
		t.Fatalf("left %v, want the newest two", left)
	}
	g := real[0]
	if len(g.Keep) != 2 || len(g.Reasons) != 2 || !slices.Equal(g.Reasons[1].Matches, []string{"has tags [release]", "last snapshot"}) ||
		g.Host == "" || len(g.Paths) != 1 {
		t.Fatalf("group %+v", g)
	}

	res := c.Run("verify", "--json")
	var rep verify.Report
	if err := json.Unmarshal([]byte(res.Stdout), &rep); err != nil || res.Code != 0 || len(rep.Problems) != 0 {
		t.Fatalf("verify after forget: exit %d, %v, problems %+v", res.Code, err, rep.Problems)
	}
	if len(rep.Warnings) != 1 || rep.Warnings[0].Kind != verify.Forgotten {
		t.Fatalf("verify warnings %+v, want one note that forget removed the previous snapshot", rep.Warnings)
	}
	if out := c.OK("forget", "--keep-last", "2"); !strings.Contains(out, "no snapshots to remove") {
		t.Fatalf("second forget:\n%s", out)
	}
}

// A policy that would empty a group, a --keep-tag no snapshot has, and no policy at
// all are refused with exit 1 and nothing removed; --allow-empty goes on.
func TestForgetRefusals(t *testing.T) {
	c := newCLI(t)
	c.OK("init")
	src := filepath.Join(t.TempDir(), "src")
	nightly(t, c, src, 2, "--host", "a", "--tag", "keep")
	nightly(t, c, src, 2, "--host", "b")
	all := snapshotIDs(t, c)
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--keep-last", "1", "--keep-tag", "kepe"}, "matches no snapshot"},
		{[]string{"--keep-tag", "keep"}, "would remove all 2 snapshots of the group (host [b]"},
		{nil, "no policy"},
		{[]string{"--keep-daily", "-2"}, "at least 0"},
		{[]string{"--keep-within", "7days"}, `duration "7days"`},
		{[]string{"--group-by", "host,user", "--keep-last", "1"}, "unknown field"},
	} {
		r := c.Run(append([]string{"forget"}, tc.args...)...)
		if r.Code != exitFatal || !strings.Contains(r.Stderr, tc.want) {
			t.Errorf("forget %q: exit %d, %q; want exit 1 and %q", tc.args, r.Code, r.Stderr, tc.want)
		}
	}
	if left := snapshotIDs(t, c); !slices.Equal(left, all) {
		t.Fatalf("refused runs removed snapshots: %d left of %d", len(left), len(all))
	}
	c.OK("forget", "--keep-tag", "keep", "--allow-empty")
	if left := snapshotIDs(t, c); !slices.Equal(left, all[:2]) {
		t.Fatalf("--allow-empty: left %v, want host a's", left)
	}
}

// Snapshots named by id prefix or 'latest' (after the filters) are removed exactly.
func TestForgetExplicitIDs(t *testing.T) {
	c := newCLI(t)
	c.OK("init")
	src := filepath.Join(t.TempDir(), "src")
	nightly(t, c, src, 2, "--host", "a")
	nightly(t, c, src, 2, "--host", "b")
	all := snapshotIDs(t, c)
	out := c.OK("forget", all[0][:8], "latest", "--host", "a")
	if !strings.Contains(out, "removed 2 snapshots") {
		t.Fatalf("forget:\n%s", out)
	}
	if left := snapshotIDs(t, c); !slices.Equal(left, all[2:]) {
		t.Fatalf("left %v, want host b's", left)
	}
	if r := c.Run("forget", "latest", "--keep-last", "1"); r.Code != exitFatal {
		t.Fatalf("ids with a policy: exit %d", r.Code)
	}
	c.OK("verify")
}

// A snapshot this client saw that is gone without a forget record means the listing
// is short or the history was rolled back: forget removes nothing.
func TestForgetRefusesRolledBackHistory(t *testing.T) {
	c := newCLI(t)
	c.OK("init")
	src := filepath.Join(t.TempDir(), "src")
	nightly(t, c, src, 4)
	all := snapshotIDs(t, c)
	if err := os.Remove(filepath.Join(c.Repo, "snapshots", all[3])); err != nil {
		t.Fatal(err)
	}
	r := c.Run("forget", "--keep-last", "1")
	if r.Code != exitFatal || !strings.Contains(r.Stderr, "not in the listing") || !strings.Contains(r.Stderr, "nothing removed") {
		t.Fatalf("exit %d, %s", r.Code, r.Stderr)
	}
	if left := snapshotIDs(t, c); !slices.Equal(left, all[:3]) {
		t.Fatalf("left %d snapshots, want 3", len(left))
	}
}

func TestSnapshotsGroupBy(t *testing.T) {
	c := newCLI(t)
	c.OK("init")
	src := filepath.Join(t.TempDir(), "src")
	nightly(t, c, src, 1, "--host", "a", "--tag", "x")
	nightly(t, c, src, 2, "--host", "b")
	out := c.OK("snapshots", "--group-by", "host,tags")
	if !strings.Contains(out, "snapshots for (host [a], tags [x]):") || !strings.Contains(out, "snapshots for (host [b], tags []):") {
		t.Fatalf("snapshots --group-by:\n%s", out)
	}
	var groups []snapshotGroupJSON
	if err := json.Unmarshal([]byte(c.OK("snapshots", "--group-by", "host", "--json")), &groups); err != nil {
		t.Fatal(err)
	}
	if len(groups) != 2 || groups[1].Key.Host != "b" || len(groups[1].Snapshots) != 2 {
		t.Fatalf("groups %+v", groups)
	}
}
