package forget

import (
	"errors"
	"fmt"
	"slices"
	"strings"
)

// Unlimited as a keep count keeps the newest snapshot of every bucket there is
// (restic's -1): --keep-daily -1 keeps one snapshot a day, however many days.
const Unlimited = -1

// Policy says which snapshots of a group to keep, in restic's terms. A counted rule
// (Last … Yearly, 0 for unused) keeps the newest snapshot of each of the newest N
// hours, days, ISO weeks, months or years that have snapshots; Last keeps the newest
// N snapshots. The Within rules are relative to the newest snapshot of the group, not
// to now: Within keeps every snapshot taken within it, WithinDaily the newest of each
// day within it, and so on. Tags keeps every snapshot that has all the tags of one of
// its lists. A snapshot is kept if any rule keeps it.
type Policy struct {
	Last, Hourly, Daily, Weekly, Monthly, Yearly int

	Within, WithinHourly, WithinDaily, WithinWeekly, WithinMonthly, WithinYearly Duration

	Tags [][]string
}

// Empty reports whether p has no rule at all.
func (p Policy) Empty() bool {
	counts := [...]int{p.Last, p.Hourly, p.Daily, p.Weekly, p.Monthly, p.Yearly}
	for _, n := range counts {
		if n != 0 {
			return false
		}
	}
	for _, d := range p.withins() {
		if !d.Zero() {
			return false
		}
	}
	return len(p.Tags) == 0
}

func (p Policy) withins() [6]Duration {
	return [...]Duration{p.Within, p.WithinHourly, p.WithinDaily, p.WithinWeekly, p.WithinMonthly, p.WithinYearly}
}

// Validate refuses counts below -1 (only -1, Unlimited, is meaningful), negative
// durations, and tag lists with nothing in them.
func (p Policy) Validate() error {
	var errs []error
	for _, c := range p.counted() {
		if c.count < Unlimited {
			errs = append(errs, fmt.Errorf("--keep-%s %d: a count is at least 0, or -1 for all", c.flag, c.count))
		}
	}
	for i, d := range p.withins() {
		if d.Years < 0 || d.Months < 0 || d.Days < 0 || d.Hours < 0 {
			errs = append(errs, fmt.Errorf("--keep-within%s %s: durations cannot be negative", withinFlags[i], d))
		}
	}
	for _, l := range p.Tags {
		if len(l) == 0 {
			errs = append(errs, errors.New("--keep-tag: an empty list of tags"))
		}
	}
	return errors.Join(errs...)
}

var withinFlags = [...]string{"", "-hourly", "-daily", "-weekly", "-monthly", "-yearly"}

// String describes p as restic's "Applying Policy" line does.
func (p Policy) String() string {
	var counts, windows, tail []string
	for _, c := range p.counted() {
		switch {
		case c.count > 0:
			counts = append(counts, fmt.Sprintf("%d %s", c.count, c.word))
		case c.count == Unlimited:
			counts = append(counts, "all "+c.word)
		}
	}
	ds := p.withins()
	for i, d := range ds[1:] {
		if !d.Zero() {
			windows = append(windows, fmt.Sprintf("%s snapshots within %s", periods[i], d))
		}
	}
	if len(p.Tags) > 0 {
		tail = append(tail, "all snapshots with tags "+tagLists(p.Tags))
	}
	if !p.Within.Zero() {
		tail = append(tail, fmt.Sprintf("all snapshots within %s of the newest", p.Within))
	}
	var s string
	if len(counts) > 0 {
		s = strings.Join(counts, ", ") + " snapshots"
	}
	s = strings.Join(nonEmpty(s, strings.Join(windows, ", ")), ", ")
	s = strings.Join(nonEmpty(s, strings.Join(tail, " and ")), " and ")
	if s == "" {
		return "keep nothing"
	}
	return "keep " + s
}

var periods = [...]string{"hourly", "daily", "weekly", "monthly", "yearly"}

func nonEmpty(s ...string) []string {
	return slices.DeleteFunc(s, func(x string) bool { return x == "" })
}

// tagLists writes lists as restic does: [[a, b] [c]].
func tagLists(lists [][]string) string {
	parts := make([]string, len(lists))
	for i, l := range lists {
		parts[i] = tagList(l)
	}
	return "[" + strings.Join(parts, " ") + "]"
}

func tagList(l []string) string { return "[" + strings.Join(l, ", ") + "]" }

type countedRule struct {
	count      int
	flag, word string
}

func (p Policy) counted() [6]countedRule {
	return [...]countedRule{
		{p.Last, "last", "latest"}, {p.Hourly, "hourly", "hourly"}, {p.Daily, "daily", "daily"},
		{p.Weekly, "weekly", "weekly"}, {p.Monthly, "monthly", "monthly"}, {p.Yearly, "yearly", "yearly"},
	}
}

// hasTags reports whether tags holds every tag of want, as restic matches
// --keep-tag: the empty tag stands for a snapshot without tags.
func hasTags(tags, want []string) bool {
	for _, t := range want {
		if t == "" && len(tags) == 0 {
			return true
		}
		if !slices.Contains(tags, t) {
			return false
		}
	}
	return true
}
