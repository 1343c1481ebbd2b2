package prune

import (
	"os"
	"path/filepath"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cairn-backup/cairn/backup/archive"
	"github.com/cairn-backup/cairn/backup/forget"
	"github.com/cairn-backup/cairn/backup/verify"
	"github.com/cairn-backup/cairn/internal/digest"
	"github.com/cairn-backup/cairn/internal/repo"
	"github.com/cairn-backup/cairn/internal/repo/repotest"
	"github.com/cairn-backup/cairn/remote/remotetest"
)

// The simulated year starts in March, so that it crosses a New Year, whose ISO week
// belongs to the year after (2025-12-29 is in week 1 of 2026).
var yearStart = time.Date(2025, 3, 1, 2, 0, 0, 0, time.UTC)

const (
	yearNights   = 365
	yearPackSize = 1 << 20
	yearSeedEnv  = "CAIRN_YEAR_SEED" // replays, or varies, the simulated year
	// yearSeed0 is the year that found prune deleting the pieces of large directories.
	// A seed fixes the changes made; the files' inode numbers and times, and so the
	// tree blobs, still differ from run to run.
	yearSeed0 = 11
)

var yearPolicy = forget.Rules{
	Policy:   forget.Policy{Daily: 7, Weekly: 4, Monthly: 12},
	GroupBy:  forget.GroupBy{Host: true, Paths: true},
	Location: time.UTC,
}

// year is a repository in memory whose storage runs on the test's clock, and the
// source tree it backs up.
type year struct {
	t       *testing.T
	store   *remotetest.Mem
	opts    repo.Options
	clock   atomic.Int64 // unix nanoseconds: the storage's, the backup's and forget's now
	src     *tree
	times   []time.Time                      // every night's snapshot time
	night   map[int64]int                    // snapshot time (unix seconds) → night
	kept    map[digest.ID]map[string]content // snapshots not forgotten → source content
	pruned  int                              // prunes that deleted packs
	written map[string]int64                 // every pack ever listed → size
}

func yearSeed(t *testing.T) uint64 {
	seed := uint64(yearSeed0)
	if s := os.Getenv(yearSeedEnv); s != "" {
		v, err := strconv.ParseUint(s, 10, 64)
		if err != nil {
			t.Fatalf("%s=%q: %v", yearSeedEnv, s, err)
		}
		seed = v
	}
	t.Logf("seed %d (%s=%d replays this year)", seed, yearSeedEnv, seed)
	return seed
}

func newYear(t *testing.T) *year {
	seed := yearSeed(t)
	y := &year{t: t, store: remotetest.NewMem(), night: map[int64]int{}, written: map[string]int64{}, kept: map[digest.ID]map[string]content{}}
	y.clock.Store(yearStart.UnixNano())
	y.store.Now = y.now
	y.opts = repotest.Options(t, yearPackSize)
	y.opts.Clock = y.now
	if _, err := repo.Init(t.Context(), y.store, y.opts); err != nil {
		t.Fatal(err)
	}
	y.src = newTree(t, filepath.Join(t.TempDir(), "home"), seed, y.now())
	return y
}

func (y *year) now() time.Time { return time.Unix(0, y.clock.Load()).UTC() }

func (y *year) open() *repo.Repo { return repotest.Open(y.t, y.store, y.opts) }

// TestSimulatedYear runs 365 nights on a fake clock, as cron jobs would: every night
// the source changes by about 2 %, then a backup and a forget by daily 7, weekly 4,
// monthly 12; every seventh night a verify that reads a quarter of the packs (all of
// them over four weeks) and a prune. At the end every kept snapshot restores exactly
// what the source held that night, verify reads every pack clean, the kept snapshots
// are those the policy names, and the packs hold at most 1.5 times the live data.
func TestSimulatedYear(t *testing.T) {
	y := newYear(t)
	for n := range yearNights {
		y.clock.Store(yearStart.Add(time.Duration(n) * 24 * time.Hour).UnixNano())
		if n > 0 {
			y.src.night(n, y.now())
		}
		y.nightly(n)
		if n%7 == 6 {
			y.weekly(n)
		}
	}
	y.checkKept()
	y.checkRestores()
	r := y.open()
	y.verify(r, yearNights, nil)
	r.Close()
	y.checkSize()
}

// Opening a repository costs a key derivation, the most expensive step of a night
// here, so each job opens it once and runs its engines in turn, as the commands of
// one cron line would, in an order in which no engine relies on an index that an
// earlier one changed: backup, then forget (which reads no index); verify, then prune.

// nightly backs up and forgets.
func (y *year) nightly(n int) {
	y.t.Helper()
	r := y.open()
	defer r.Close()
	res, err := archive.Run(y.t.Context(), r, archive.Options{Paths: []string{y.src.dir}, Host: "h", Clock: y.now})
	if err != nil {
		y.t.Fatalf("night %d: backup: %v", n, err)
	}
	y.times = append(y.times, y.now())
	y.night[y.now().Unix()] = n
	y.kept[res.Snapshot] = y.src.record()
	y.countWritten()
	y.clock.Add(int64(10 * time.Minute))
	y.forget(r, n)
}

// weekly reads a quarter of the packs, then prunes. Every fourth week the prune
// runs while a backup elsewhere is in progress (its run note is fresh), so it only
// marks what it found unneeded, and the next week's prune deletes it: the nightly
// backups between must not reuse those packs. A damage a prune did would be found by
// the next week's verify, and by the full one at the end.
func (y *year) weekly(n int) {
	y.t.Helper()
	r := y.open()
	defer r.Close()
	y.verify(r, n, &verify.Subset{N: uint64(n/7%4) + 1, M: 4})
	busy := n/7%4 == 2
	var other *repo.RunNote
	if busy {
		var err error
		if other, err = r.StartRun(y.t.Context(), "backup"); err != nil {
			y.t.Fatal(err)
		}
	}
	res := y.prune(r, n)
	if busy {
		if res.AtOnce || int64(len(res.Deleted)) != res.Plan.Stats.Packs[Delete] {
			y.t.Fatalf("night %d: prune beside a running backup deleted %d packs (at once: %v); only the %d marked a week ago may go",
				n, len(res.Deleted), res.AtOnce, res.Plan.Stats.Packs[Delete])
		}
		if err := other.End(y.t.Context()); err != nil {
			y.t.Fatal(err)
		}
	}
}

// forget applies the policy and checks, every night, that what it keeps is what the
// test's own reading of the policy keeps of all the nights so far.
func (y *year) forget(r *repo.Repo, n int) {
	y.t.Helper()
	rules := yearPolicy
	rules.Now = y.now()
	res, err := forget.Run(y.t.Context(), r, forget.Options{Rules: rules})
	if err != nil {
		y.t.Fatalf("night %d: forget: %v", n, err)
	}
	for _, s := range res.Removed {
		delete(y.kept, s.ID)
	}
	var kept []time.Time
	for _, d := range res.Decisions {
		for _, k := range d.Keep {
			kept = append(kept, k.Snapshot.Time)
		}
	}
	y.samePolicy(n, kept)
}

// samePolicy fails unless kept are the times policyKeeps picks from nights 0 to n.
func (y *year) samePolicy(n int, kept []time.Time) {
	y.t.Helper()
	want := policyKeeps(y.times[:n+1])
	got := map[int]bool{}
	for _, tm := range kept {
		i, ok := y.night[tm.Unix()]
		if !ok {
			y.t.Fatalf("night %d: a snapshot of %s is kept, which no night made", n, tm)
		}
		got[i] = true
	}
	for i := range n + 1 {
		if got[i] != want[i] {
			y.t.Fatalf("night %d: the snapshot of night %d (%s) kept %v, the policy says %v",
				n, i, y.times[i].Format(time.DateOnly), got[i], want[i])
		}
	}
}

func (y *year) prune(r *repo.Repo, n int) *Result {
	y.t.Helper()
	res, err := Run(y.t.Context(), r, Options{})
	if err != nil {
		y.t.Fatalf("night %d: prune: %v", n, err)
	}
	if len(res.Deleted) > 0 {
		y.pruned++
	}
	if n%28 == 27 {
		st := res.Plan.Stats
		y.t.Logf("night %3d: prune deleted %d packs (%d bytes), marked %d; %d packs kept, %d to repack (%d bytes, %d in use); %d pack bytes",
			n, len(res.Deleted), res.Freed, res.Marked, st.Packs[Keep], st.Packs[Repack], st.Bytes[Repack], st.RepackedBytes, y.packBytes())
	}
	return res
}

// verify reads the packs of subset (all of them when nil) and fails on any damage,
// naming what it affects.
func (y *year) verify(r *repo.Repo, n int, subset *verify.Subset) {
	y.t.Helper()
	rep, err := verify.Run(y.t.Context(), r, verify.Options{ReadData: true, Subset: subset})
	if rep != nil {
		for _, p := range rep.Problems {
			if p.Damage {
				y.t.Errorf("night %d: verify: %s %s: %s", n, p.Kind, p.Object, p.Detail)
			}
		}
		for _, a := range rep.Affected {
			y.t.Errorf("night %d: verify: affected: snapshot %s of %s: %s %s", n, a.Snapshot.Short(), a.Time.Format(time.DateOnly), a.Type, a.Path)
		}
	}
	if err != nil {
		y.t.Fatalf("night %d: verify: %v", n, err)
	}
	if y.t.Failed() {
		y.t.FailNow()
	}
}
