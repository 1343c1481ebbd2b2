package forget

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/cairn-backup/cairn/internal/digest"
	"github.com/cairn-backup/cairn/internal/repo"
	"github.com/cairn-backup/cairn/internal/repo/repotest"
	"github.com/cairn-backup/cairn/manifest"
	"github.com/cairn-backup/cairn/remote"
	"github.com/cairn-backup/cairn/remote/remotetest"
)

// repoEnv is a repository in memory behind a fault wrapper, with snapshots this
// client made (and so remembers seeing).
type repoEnv struct {
	t     *testing.T
	store *remotetest.Faulty
	r     *repo.Repo
	ids   []digest.ID // oldest first
}

// newRepoEnv saves one snapshot a day at 10:00 UTC from 1 May 2024 for each host.
func newRepoEnv(t *testing.T, days int, hosts ...string) *repoEnv {
	t.Helper()
	opts := repotest.Options(t, 0)
	e := &repoEnv{t: t, store: repotest.Init(t, opts)}
	e.r = repotest.Open(t, e.store, opts)
	for d := range days {
		for _, h := range hosts {
			s := manifest.Snapshot{Version: manifest.SnapshotVersion, Host: h, Paths: []string{"/p"},
				Time: time.Date(2024, 5, 1+d, 10, 0, 0, 0, time.UTC)}
			if d%3 == 0 {
				s.Tags = []string{"monthly-" + h}
			}
			rec, err := s.Encode()
			if err != nil {
				t.Fatal(err)
			}
			id, err := e.r.SaveSnapshot(context.Background(), rec)
			if err != nil {
				t.Fatal(err)
			}
			e.ids = append(e.ids, id)
		}
	}
	if err := e.r.RememberSnapshots(e.ids); err != nil {
		t.Fatal(err)
	}
	return e
}

func (e *repoEnv) listed() []digest.ID {
	e.t.Helper()
	var ids []digest.ID
	err := e.store.Storage.List(context.Background(), remote.Snapshot, func(i remote.Info) error {
		id, err := digest.Parse(i.Name)
		ids = append(ids, id)
		return err
	})
	if err != nil {
		e.t.Fatal(err)
	}
	return ids
}

// writes counts the puts and deletes so far.
func (e *repoEnv) writes() int {
	return e.store.Calls(remotetest.OpDelete) + e.store.Calls(remotetest.OpPut)
}

func idsOf(snaps []repo.Snapshot) []digest.ID {
	out := make([]digest.ID, len(snaps))
	for i, s := range snaps {
		out[i] = s.ID
	}
	return out
}

func TestRunForgetsAndRecords(t *testing.T) {
	e := newRepoEnv(t, 5, "a", "b")
	opts := Options{Rules: Rules{Policy: Policy{Last: 2}, GroupBy: DefaultGroupBy}}
	opts.DryRun = true
	dry, err := Run(context.Background(), e.r, opts)
	if err != nil || len(e.listed()) != 10 || e.store.Calls(remotetest.OpDelete) != 0 {
		t.Fatalf("dry run: %v, %d listed, %d deletes", err, len(e.listed()), e.store.Calls(remotetest.OpDelete))
	}
	opts.DryRun = false
	res, err := Run(context.Background(), e.r, opts)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(idsOf(dry.Removed), idsOf(res.Removed)) || len(res.Removed) != 6 || len(res.Decisions) != 2 {
		t.Fatalf("dry run removes %d, real run %d (want 6), %d groups", len(dry.Removed), len(res.Removed), len(res.Decisions))
	}
	kept := e.listed()
	st, err := e.r.LoadState(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	seen, _ := e.r.SeenSnapshots()
	for _, s := range res.Removed {
		if slices.Contains(kept, s.ID) || !st.Forgotten[s.ID] || slices.Contains(seen, s.ID) {
			t.Errorf("removed %s: still listed %v, recorded %v, still remembered %v",
				s.ID.Short(), slices.Contains(kept, s.ID), st.Forgotten[s.ID], slices.Contains(seen, s.ID))
		}
	}
	if want := e.ids[6:]; !sameSet(kept, want) {
		t.Errorf("kept %d snapshots, want the newest 2 of each host", len(kept))
	}
	// A second run finds the gap recorded, not a rolled-back history, and has no work.
	again, err := Run(context.Background(), e.r, opts)
	if err != nil || len(again.Removed) != 0 {
		t.Fatalf("second run: %v, %d removed", err, len(again.Removed))
	}
}

func sameSet(a, b []digest.ID) bool {
	a, b = slices.Clone(a), slices.Clone(b)
	cmp := func(x, y digest.ID) int { return strings.Compare(x.String(), y.String()) }
	slices.SortFunc(a, cmp)
	slices.SortFunc(b, cmp)
	return slices.Equal(a, b)
}

// A listing that fails, lies or is cut short, or a record that does not load, stops
// forget before it writes or deletes anything (RELIABILITY 6).
func TestRunNeverActsOnABadListing(t *testing.T) {
	for name, f := range map[string]remotetest.Fault{
		"listing fails":          {Op: remotetest.OpList, Type: remote.Snapshot, Kind: remotetest.Fail},
		"listing not found":      {Op: remotetest.OpList, Type: remote.Snapshot, Kind: remotetest.Fail, Err: remote.ErrNotFound},
		"listing empty":          {Op: remotetest.OpList, Type: remote.Snapshot, Kind: remotetest.ListShort, Keep: 0},
		"listing truncated":      {Op: remotetest.OpList, Type: remote.Snapshot, Kind: remotetest.ListShort, Keep: 3},
		"record unreadable":      {Op: remotetest.OpGet, Type: remote.Snapshot, Kind: remotetest.Fail, Nth: 2},
		"record damaged":         {Op: remotetest.OpGet, Type: remote.Snapshot, Kind: remotetest.GetFlip, Nth: 4},
		"forget records unknown": {Op: remotetest.OpList, Type: remote.State, Kind: remotetest.Fail},
	} {
		t.Run(name, func(t *testing.T) {
			e := newRepoEnv(t, 6, "a")
			if name == "forget records unknown" { // the listing lacks one; were they forgotten?
				f2 := remotetest.Fault{Op: remotetest.OpList, Type: remote.Snapshot, Kind: remotetest.ListShort, Keep: 5}
				e.store.Add(f2)
			}
			e.store.Add(f)
			before := e.writes()
			_, err := Run(context.Background(), e.r, Options{Rules: Rules{Policy: Policy{Last: 1}, GroupBy: DefaultGroupBy}})
			if !errors.Is(err, ErrUnsafeListing) || !strings.Contains(err.Error(), "nothing removed") {
				t.Errorf("error %v, want ErrUnsafeListing saying nothing was removed", err)
			}
			e.store.Verify(t)
			if n := e.writes() - before; n != 0 || len(e.listed()) != 6 {
				t.Errorf("%d writes or deletes, %d snapshots left of 6", n, len(e.listed()))
			}
		})
	}
}

func TestRunRefusals(t *testing.T) {
	e := newRepoEnv(t, 4, "a", "b")
	ctx := context.Background()
	for name, o := range map[string]Options{
		"typo tag":        {Rules: Rules{Policy: Policy{Last: 1, Tags: [][]string{{"montly-a"}}}, GroupBy: DefaultGroupBy}},
		"group b emptied": {Rules: Rules{Policy: Policy{Tags: [][]string{{"monthly-a"}}}, GroupBy: DefaultGroupBy}},
		"no policy":       {},
		"ids and policy":  {Rules: Rules{Policy: Policy{Last: 1}}, IDs: []string{"latest"}},
		"unknown id":      {IDs: []string{e.ids[0].String()[:8], "ffffffffff"}},
		"invalid count":   {Rules: Rules{Policy: Policy{Daily: -3}}},
	} {
		before := e.writes()
		if _, err := Run(ctx, e.r, o); err == nil || e.writes() != before {
			t.Errorf("%s: error %v, %d writes or deletes", name, err, e.writes()-before)
		}
	}
	if len(e.listed()) != 8 {
		t.Fatalf("refused runs left %d snapshots of 8", len(e.listed()))
	}
	// With --allow-empty the emptied group goes.
	o := Options{Rules: Rules{Policy: Policy{Tags: [][]string{{"monthly-a"}}}, GroupBy: DefaultGroupBy}, AllowEmpty: true}
	res, err := Run(ctx, e.r, o)
	if err != nil || len(res.Removed) != 6 || len(e.listed()) != 2 {
		t.Fatalf("allow-empty: %v, removed %d, %d left", err, len(res.Removed), len(e.listed()))
	}
}

func TestRunExplicitIDs(t *testing.T) {
	e := newRepoEnv(t, 3, "a", "b")
	ctx := context.Background()
	res, err := Run(ctx, e.r, Options{IDs: []string{e.ids[0].String()[:10], "latest", e.ids[0].String()}, Filter: repo.Filter{Host: "a"}})
	if err != nil {
		t.Fatal(err)
	}
	want := []digest.ID{e.ids[0], e.ids[4]} // the oldest, and the latest of host a
	if !slices.Equal(idsOf(res.Removed), want) || !sameSet(e.listed(), []digest.ID{e.ids[1], e.ids[2], e.ids[3], e.ids[5]}) {
		t.Fatalf("removed %v", idsOf(res.Removed))
	}
}

// A delete that fails leaves the snapshot (recorded as forgotten, so its later
// disappearance is not damage) and is reported; the others still go.
func TestForgetSnapshotsDeleteFails(t *testing.T) {
	e := newRepoEnv(t, 3, "a")
	e.store.Add(remotetest.Fault{Op: remotetest.OpDelete, Type: remote.Snapshot, Name: e.ids[0].String(), Kind: remotetest.Fail})
	err := e.r.ForgetSnapshots(context.Background(), e.ids[:2])
	if err == nil || !sameSet(e.listed(), []digest.ID{e.ids[0], e.ids[2]}) {
		t.Fatalf("error %v, listed %d", err, len(e.listed()))
	}
	seen, _ := e.r.SeenSnapshots()
	if !sameSet(seen, []digest.ID{e.ids[0], e.ids[2]}) {
		t.Errorf("remembered %d snapshots, want the two still there", len(seen))
	}
}
