package forget

import (
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/cairn-backup/cairn/internal/repo"
)

// reference is a second, plainer statement of restic's policy, written from its
// documentation rather than as one pass: for a counted rule of N, the newest snapshot
// of each of the newest N buckets, and the oldest snapshot if fewer than N buckets
// exist (or N is unlimited); for a window rule, the newest of each bucket inside the
// window, and the oldest if it is inside; every snapshot inside Within; every one
// with the tags of a --keep-tag. snaps are newest first.
func reference(snaps []repo.Snapshot, p Policy, loc *time.Location) map[int]bool {
	keep := map[int]bool{}
	latest := snaps[0].Time.In(loc)
	oldest := len(snaps) - 1
	keys := []func(time.Time, int) int{each, hourOf, dayOf, weekOf, monthOf, yearOf}
	for r, n := range []int{p.Last, p.Hourly, p.Daily, p.Weekly, p.Monthly, p.Yearly} {
		if n == 0 {
			continue
		}
		firsts := firstOfEachBucket(snaps, loc, keys[r], func(time.Time) bool { return true })
		if n == Unlimited || len(firsts) < n {
			keep[oldest] = true
		} else {
			firsts = firsts[:n]
		}
		for _, i := range firsts {
			keep[i] = true
		}
	}
	ws := p.withins()
	for r, d := range ws[1:] {
		if d.Zero() {
			continue
		}
		in := func(t time.Time) bool { return t.After(d.Before(latest)) }
		for _, i := range firstOfEachBucket(snaps, loc, keys[r+1], in) {
			keep[i] = true
		}
		if in(snaps[oldest].Time.In(loc)) {
			keep[oldest] = true
		}
	}
	for i, s := range snaps {
		if !p.Within.Zero() && s.Time.After(p.Within.Before(latest)) {
			keep[i] = true
		}
		for _, l := range p.Tags {
			if hasTags(s.Tags, l) {
				keep[i] = true
			}
		}
	}
	return keep
}

// firstOfEachBucket returns the index of the newest snapshot of each bucket whose
// snapshots pass in, newest bucket first.
func firstOfEachBucket(snaps []repo.Snapshot, loc *time.Location, key func(time.Time, int) int, in func(time.Time) bool) []int {
	var out []int
	seen := map[int]bool{}
	for i, s := range snaps {
		t := s.Time.In(loc)
		if !in(t) {
			continue
		}
		if k := key(t, i); !seen[k] {
			seen[k] = true
			out = append(out, i)
		}
	}
	return out
}

func randomPolicy(rng *rand.Rand) Policy {
	count := func() int { return []int{0, 0, 1, 2, 3, 7, Unlimited}[rng.IntN(7)] }
	dur := func() Duration {
		if rng.IntN(3) > 0 {
			return Duration{}
		}
		return Duration{Years: rng.IntN(2) * rng.IntN(2), Months: rng.IntN(3) * rng.IntN(2), Days: rng.IntN(10), Hours: rng.IntN(30)}
	}
	p := Policy{Last: count(), Hourly: count(), Daily: count(), Weekly: count(), Monthly: count(), Yearly: count(),
		Within: dur(), WithinHourly: dur(), WithinDaily: dur(), WithinWeekly: dur(), WithinMonthly: dur(), WithinYearly: dur()}
	if rng.IntN(3) == 0 {
		p.Tags = [][]string{{"a"}}
	}
	return p
}

func randomSnaps(rng *rand.Rand) []repo.Snapshot {
	t := time.Date(2019+rng.IntN(6), time.Month(1+rng.IntN(12)), 1+rng.IntN(28), 0, 0, 0, 0, time.UTC)
	step := []time.Duration{17 * time.Minute, 3 * time.Hour, 25 * time.Hour, 9 * 24 * time.Hour}[rng.IntN(4)]
	var out []repo.Snapshot
	for range 1 + rng.IntN(60) {
		t = t.Add(time.Duration(rng.Int64N(int64(2 * step))))
		var tags []string
		if rng.IntN(5) == 0 {
			tags = []string{"a"}
		}
		out = append(out, snapAt(t, tags...))
	}
	sortOldestFirst(out)
	return out
}

// TestPolicyMatchesReference checks Apply against reference on random groups in zones
// with DST (Lord Howe shifts by half an hour).
func TestPolicyMatchesReference(t *testing.T) {
	rng := rand.New(rand.NewPCG(13, 2))
	zones := []*time.Location{time.UTC, zone(t, "Europe/Berlin"), zone(t, "America/New_York"), zone(t, "Australia/Lord_Howe")}
	for n := range 3000 {
		snaps := randomSnaps(rng)
		p := randomPolicy(rng)
		loc := zones[rng.IntN(len(zones))]
		keep, remove := Apply(snaps, Rules{Policy: p, Location: loc})
		newestFirst := slices.Clone(snaps)
		slices.Reverse(newestFirst)
		want := reference(newestFirst, p, loc)
		var wantKeep []repo.Snapshot
		for i := len(newestFirst) - 1; i >= 0; i-- {
			if want[i] {
				wantKeep = append(wantKeep, newestFirst[i])
			}
		}
		if !sameIDs(keptSnaps(keep), wantKeep) || len(keep)+len(remove) != len(snaps) {
			t.Fatalf("case %d, policy %+v in %s:\nsnapshots:\n%skept:\n%swant:\n%s", n, p, loc,
				describe(snaps), describe(keptSnaps(keep)), describe(wantKeep))
		}
	}
}
