package forget

import (
	"bytes"
	"slices"
	"time"

	"github.com/cairn-backup/cairn/internal/repo"
)

// Rules are everything the decision depends on besides the snapshots.
type Rules struct {
	Policy  Policy
	GroupBy GroupBy
	// Location is the time zone of the hours, days, weeks, months and years counted
	// (nil: the local zone), so a DST change or New Year falls where the user sees it.
	Location *time.Location
	// Now excludes snapshots dated in the future from being the newest a Within rule
	// counts back from (a host with a wrong clock must not shift every window); the
	// zero time excludes nothing.
	Now time.Time
}

// Kept is a snapshot a policy keeps, with every rule that keeps it.
type Kept struct {
	Snapshot repo.Snapshot
	Reasons  []string
	Counters Counters // what the counted rules had left after it, as restic reports
}

// Counters are the counts of the counted rules left after a kept snapshot; zero for
// rules not in use or used up, and for Unlimited ones.
type Counters struct {
	Last    int `json:"last,omitempty"`
	Hourly  int `json:"hourly,omitempty"`
	Daily   int `json:"daily,omitempty"`
	Weekly  int `json:"weekly,omitempty"`
	Monthly int `json:"monthly,omitempty"`
	Yearly  int `json:"yearly,omitempty"`
}

// Decision is what a policy does to one group; both lists are oldest first.
type Decision struct {
	Key    Key
	Keep   []Kept
	Remove []repo.Snapshot
}

// Decide groups snaps (oldest first) and applies the policy to each group. It reads
// no clock and no storage: the same snapshots and rules give the same decision.
func Decide(snaps []repo.Snapshot, r Rules) []Decision {
	var out []Decision
	for _, g := range Group(snaps, r.GroupBy) {
		keep, remove := Apply(g.Snapshots, r)
		out = append(out, Decision{Key: g.Key, Keep: keep, Remove: remove})
	}
	return out
}

// bucket is one rule that keeps the newest snapshot of each bucket of time (for
// Last, of each snapshot): count buckets, or those within a window.
type bucket struct {
	count  int       // buckets left (Unlimited: no end); for a window rule, Unlimited
	start  time.Time // window rules: the snapshot must be after it
	window bool
	rule   int // counted rules: index in Policy.counted
	key    func(t time.Time, nr int) int
	last   int // key of the last bucket kept; -1 before the first
	reason string
}

// Apply applies r.Policy to the snapshots of one group (any order; taken newest
// first, as restic does, ties by id). With an empty policy it keeps nothing.
func Apply(snaps []repo.Snapshot, r Rules) (keep []Kept, remove []repo.Snapshot) {
	list := slices.Clone(snaps)
	slices.SortStableFunc(list, func(a, b repo.Snapshot) int {
		if c := b.Time.Compare(a.Time); c != 0 {
			return c
		}
		return bytes.Compare(b.ID[:], a.ID[:])
	})
	if len(list) == 0 {
		return nil, nil
	}
	loc := r.Location
	if loc == nil {
		loc = time.Local
	}
	p := r.Policy
	latest := newest(list, r.Now).In(loc)
	buckets := newBuckets(p, latest)
	for nr, s := range list {
		t := s.Time.In(loc)
		var reasons []string
		for _, l := range p.Tags {
			if hasTags(s.Tags, l) {
				reasons = append(reasons, "has tags "+tagList(l))
			}
		}
		if !p.Within.Zero() && t.After(p.Within.Before(latest)) {
			reasons = append(reasons, "within "+p.Within.String())
		}
		for i := range buckets {
			if why, ok := buckets[i].take(t, nr, nr == len(list)-1); ok {
				reasons = append(reasons, why)
			}
		}
		if len(reasons) == 0 {
			remove = append(remove, s)
			continue
		}
		keep = append(keep, Kept{Snapshot: s, Reasons: reasons, Counters: counters(buckets)})
	}
	slices.Reverse(keep)
	slices.Reverse(remove)
	return keep, remove
}

// newest returns the time of the newest snapshot not after now (any, if now is
// zero); the zero time if every snapshot is in the future.
func newest(list []repo.Snapshot, now time.Time) time.Time {
	var latest time.Time
	for _, s := range list {
		if s.Time.After(latest) && (now.IsZero() || s.Time.Before(now)) {
			latest = s.Time
		}
	}
	return latest
}

func newBuckets(p Policy, latest time.Time) []bucket {
	keys := [...]func(time.Time, int) int{each, hourOf, dayOf, weekOf, monthOf, yearOf}
	var bs []bucket
	for i, c := range p.counted() {
		if c.count > 0 || c.count == Unlimited {
			bs = append(bs, bucket{count: c.count, rule: i, key: keys[i], last: -1, reason: c.flag + " snapshot"})
		}
	}
	withins := p.withins()
	for i, d := range withins[1:] {
		if !d.Zero() {
			bs = append(bs, bucket{count: Unlimited, window: true, start: d.Before(latest), key: keys[i+1],
				last: -1, reason: periods[i] + " within " + d.String()})
		}
	}
	return bs
}

// take reports whether the bucket keeps the snapshot at t, the nr-th newest, and why.
// Like restic, a rule with buckets left also keeps the oldest snapshot of the group,
// even if its bucket is already kept: the history kept then reaches back as far as
// it can.
func (b *bucket) take(t time.Time, nr int, oldest bool) (string, bool) {
	if b.count == 0 || (b.window && !t.After(b.start)) {
		return "", false
	}
	k := b.key(t, nr)
	if k == b.last && !oldest {
		return "", false
	}
	why := b.reason
	if k == b.last {
		why = "oldest " + why
	}
	b.last = k
	if b.count > 0 {
		b.count--
	}
	return why, true
}

// counters reports the counts the counted rules have left, as restic does (-1 for
// Unlimited; window rules have none).
func counters(bs []bucket) Counters {
	var n [6]int
	for _, b := range bs {
		if !b.window {
			n[b.rule] = b.count
		}
	}
	return Counters{Last: n[0], Hourly: n[1], Daily: n[2], Weekly: n[3], Monthly: n[4], Yearly: n[5]}
}

// The bucket keys of the counted rules, in the time zone t is in.
func each(_ time.Time, nr int) int  { return nr }
func hourOf(t time.Time, _ int) int { return dayOf(t, 0)*100 + t.Hour() }
func dayOf(t time.Time, _ int) int  { return monthOf(t, 0)*100 + t.Day() }
func monthOf(t time.Time, _ int) int {
	return t.Year()*100 + int(t.Month())
}
func yearOf(t time.Time, _ int) int { return t.Year() }

// weekOf is the ISO week: its year is the one its Thursday is in, so 30 December
// can be in week 1 of the next year and 1 January in week 52 or 53 of the last.
func weekOf(t time.Time, _ int) int {
	y, w := t.ISOWeek()
	return y*100 + w
}
