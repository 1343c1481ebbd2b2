package forget

import (
	"maps"
	"slices"
	"testing"
	"time"

	"github.com/cairn-backup/cairn/internal/repo"
)

// Each case names its snapshots by local time in the case's zone and lists what is
// kept, by local time "01-02 15:04", with its reasons; everything else is removed.
type policyCase struct {
	name   string
	zone   string
	snaps  []string
	policy Policy
	now    string // local time; empty: none
	keep   map[string]string
}

var week = []string{ // one a day at 10:00 and a second on Wednesday at 18:00
	"2024-05-06 10:00", "2024-05-07 10:00", "2024-05-08 10:00", "2024-05-08 18:00",
	"2024-05-09 10:00", "2024-05-10 10:00", "2024-05-11 10:00", "2024-05-12 10:00",
}

var policyCases = []policyCase{
	{name: "last 3", zone: "UTC", snaps: week, policy: Policy{Last: 3},
		keep: map[string]string{"05-10 10:00": "last snapshot", "05-11 10:00": "last snapshot", "05-12 10:00": "last snapshot"}},
	{name: "last more than there are keeps all, oldest once", zone: "UTC", snaps: week[:3], policy: Policy{Last: 5},
		keep: map[string]string{"05-06 10:00": "last snapshot", "05-07 10:00": "last snapshot", "05-08 10:00": "last snapshot"}},
	{name: "daily 2: newest of the newest two days", zone: "UTC", snaps: week, policy: Policy{Daily: 2},
		keep: map[string]string{"05-11 10:00": "daily snapshot", "05-12 10:00": "daily snapshot"}},
	{name: "daily: the later of two on one day", zone: "UTC", snaps: week[2:5], policy: Policy{Daily: 2},
		keep: map[string]string{"05-08 18:00": "daily snapshot", "05-09 10:00": "daily snapshot"}},
	{name: "daily with counts left keeps the oldest too", zone: "UTC", snaps: week[2:5], policy: Policy{Daily: 3},
		keep: map[string]string{"05-08 10:00": "oldest daily snapshot", "05-08 18:00": "daily snapshot", "05-09 10:00": "daily snapshot"}},
	{name: "daily unlimited", zone: "UTC", snaps: week[1:5], policy: Policy{Daily: Unlimited},
		keep: map[string]string{"05-07 10:00": "daily snapshot", "05-08 18:00": "daily snapshot", "05-09 10:00": "daily snapshot"}},
	{name: "hourly", zone: "UTC", snaps: []string{"2024-05-06 10:05", "2024-05-06 10:55", "2024-05-06 11:10", "2024-05-06 13:00"},
		policy: Policy{Hourly: 2}, keep: map[string]string{"05-06 11:10": "hourly snapshot", "05-06 13:00": "hourly snapshot"}},
	{name: "weekly: Monday starts an ISO week", zone: "UTC", snaps: []string{"2024-05-04 10:00", "2024-05-05 10:00", "2024-05-06 10:00", "2024-05-12 10:00", "2024-05-13 10:00"},
		policy: Policy{Weekly: 2}, keep: map[string]string{"05-12 10:00": "weekly snapshot", "05-13 10:00": "weekly snapshot"}},
	{name: "monthly and yearly", zone: "UTC", snaps: []string{"2022-07-01 00:00", "2023-03-01 00:00", "2023-03-20 00:00", "2023-11-05 00:00", "2024-01-02 00:00"},
		policy: Policy{Monthly: 2, Yearly: 2}, keep: map[string]string{
			"01-02 00:00": "monthly snapshot; yearly snapshot", "11-05 00:00": "monthly snapshot; yearly snapshot"}},
	{name: "yearly unlimited keeps the oldest", zone: "UTC", snaps: []string{"2022-07-01 00:00", "2022-09-01 00:00", "2023-03-01 00:00"},
		policy: Policy{Yearly: Unlimited}, keep: map[string]string{
			"07-01 00:00": "oldest yearly snapshot", "09-01 00:00": "yearly snapshot", "03-01 00:00": "yearly snapshot"}},
	{name: "within counts back from the newest snapshot, not now", zone: "UTC", snaps: week,
		policy: Policy{Within: Duration{Days: 2}}, now: "2030-01-01 00:00",
		keep: map[string]string{"05-11 10:00": "within 2d", "05-12 10:00": "within 2d"}},
	{name: "within ignores a snapshot dated in the future", zone: "UTC", snaps: append([]string{"2024-06-30 10:00"}, week...),
		policy: Policy{Within: Duration{Days: 1}}, now: "2024-05-13 00:00",
		keep: map[string]string{"05-12 10:00": "within 1d", "06-30 10:00": "within 1d"}},
	{name: "within-daily: newest per day inside the window, and the oldest in it", zone: "UTC", snaps: week,
		policy: Policy{WithinDaily: Duration{Days: 4, Hours: 12}},
		keep: map[string]string{"05-08 18:00": "daily within 4d12h", "05-09 10:00": "daily within 4d12h",
			"05-10 10:00": "daily within 4d12h", "05-11 10:00": "daily within 4d12h", "05-12 10:00": "daily within 4d12h"}},
	{name: "within-weekly, within-monthly, within-yearly", zone: "UTC",
		snaps:  []string{"2022-01-10 00:00", "2023-02-10 00:00", "2023-06-10 00:00", "2024-01-03 12:00", "2024-01-10 00:00", "2024-01-11 00:00"},
		policy: Policy{WithinWeekly: Duration{Days: 8}, WithinMonthly: Duration{Months: 6}, WithinYearly: Duration{Years: 1, Months: 1}},
		keep: map[string]string{"01-11 00:00": "weekly within 8d; monthly within 6m; yearly within 1y1m",
			"01-03 12:00": "weekly within 8d", "06-10 00:00": "yearly within 1y1m"}},
	{name: "within-daily keeps the oldest of the group if it is in the window", zone: "UTC",
		snaps:  []string{"2024-05-06 08:00", "2024-05-06 09:00", "2024-05-06 10:00"},
		policy: Policy{WithinDaily: Duration{Days: 2}},
		keep:   map[string]string{"05-06 10:00": "daily within 2d", "05-06 08:00": "oldest daily within 2d"}},
	{name: "within-hourly", zone: "UTC", snaps: []string{"2024-05-06 08:10", "2024-05-06 09:10", "2024-05-06 09:40", "2024-05-06 10:20"},
		policy: Policy{WithinHourly: Duration{Hours: 2}},
		keep:   map[string]string{"05-06 09:40": "hourly within 2h", "05-06 10:20": "hourly within 2h"}},
	{name: "keep-tag a,b needs both tags", zone: "UTC",
		snaps:  []string{"2024-05-06 10:00+a", "2024-05-07 10:00+a+b", "2024-05-08 10:00+b", "2024-05-09 10:00"},
		policy: Policy{Tags: [][]string{{"a", "b"}}}, keep: map[string]string{"05-07 10:00": "has tags [a, b]"}},
	{name: "keep-tag lists are alternatives; the empty tag is untagged", zone: "UTC",
		snaps:  []string{"2024-05-06 10:00+a", "2024-05-07 10:00+a+b", "2024-05-08 10:00+b", "2024-05-09 10:00"},
		policy: Policy{Tags: [][]string{{"b"}, {""}}},
		keep:   map[string]string{"05-07 10:00": "has tags [b]", "05-08 10:00": "has tags [b]", "05-09 10:00": "has tags []"}},
	{name: "rules combine, each reason listed", zone: "UTC", snaps: week,
		policy: Policy{Last: 1, Daily: 2, Weekly: 2, Tags: [][]string{{"x"}}},
		keep: map[string]string{"05-12 10:00": "last snapshot; daily snapshot; weekly snapshot", "05-11 10:00": "daily snapshot",
			"05-06 10:00": "oldest weekly snapshot"}},
	{name: "empty policy keeps nothing", zone: "UTC", snaps: week[:2], keep: map[string]string{}},

	// Days are local days: a 23-hour day in spring and a 25-hour day in autumn are one
	// day each, however far apart in UTC its first and last snapshot are.
	{name: "Berlin spring-forward day is one day", zone: "Europe/Berlin",
		snaps:  []string{"2024-03-30 12:00", "2024-03-31 00:30", "2024-03-31 23:30", "2024-04-01 00:10"},
		policy: Policy{Daily: 2}, keep: map[string]string{"04-01 00:10": "daily snapshot", "03-31 23:30": "daily snapshot"}},
	{name: "New York fall-back day is one day", zone: "America/New_York",
		snaps:  []string{"2024-11-02 23:50", "2024-11-03 00:10", "2024-11-03 23:50", "2024-11-04 00:10"},
		policy: Policy{Daily: 2}, keep: map[string]string{"11-04 00:10": "daily snapshot", "11-03 23:50": "daily snapshot"}},
	{name: "New York spring-forward hours", zone: "America/New_York",
		snaps:  []string{"2024-03-10 01:10", "2024-03-10 01:50", "2024-03-10 03:05", "2024-03-10 03:55"},
		policy: Policy{Hourly: 2}, keep: map[string]string{"03-10 03:55": "hourly snapshot", "03-10 01:50": "hourly snapshot"}},
	{name: "within 1d across spring-forward is a calendar day", zone: "Europe/Berlin",
		snaps:  []string{"2024-03-30 12:00", "2024-03-30 13:30", "2024-03-31 13:00"},
		policy: Policy{Within: Duration{Days: 1}}, keep: map[string]string{"03-30 13:30": "within 1d", "03-31 13:00": "within 1d"}},
	// ISO week 1 of 2025 starts on Monday 30 December 2024.
	{name: "ISO week 1 spans the new year", zone: "Europe/Berlin",
		snaps:  []string{"2024-12-28 10:00", "2024-12-29 10:00", "2024-12-30 10:00", "2025-01-01 10:00"},
		policy: Policy{Weekly: 2}, keep: map[string]string{"01-01 10:00": "weekly snapshot", "12-29 10:00": "weekly snapshot"}},
	{name: "New Year in Berlin is not New Year in UTC", zone: "Europe/Berlin",
		snaps:  []string{"2024-06-01 12:00", "2024-12-31 23:30", "2025-01-01 00:30"},
		policy: Policy{Yearly: 2, Monthly: 1}, keep: map[string]string{
			"01-01 00:30": "monthly snapshot; yearly snapshot", "12-31 23:30": "yearly snapshot"}},
}

func TestPolicy(t *testing.T) {
	for _, c := range policyCases {
		t.Run(c.name, func(t *testing.T) {
			loc := zone(t, c.zone)
			snaps := series(t, loc, c.snaps...)
			r := Rules{Policy: c.policy, Location: loc}
			if c.now != "" {
				r.Now = series(t, loc, c.now)[0].Time
			}
			keep, remove := Apply(snaps, r)
			got := reasonsByTime(keep, loc, "01-02 15:04")
			if !maps.Equal(got, c.keep) {
				t.Errorf("kept %v\nwant %v", got, c.keep)
			}
			if len(keep)+len(remove) != len(snaps) {
				t.Errorf("%d kept + %d removed of %d", len(keep), len(remove), len(snaps))
			}
			for _, list := range [][]repo.Snapshot{keptSnaps(keep), remove} {
				if !slices.IsSortedFunc(list, func(a, b repo.Snapshot) int { return a.Time.Compare(b.Time) }) {
					t.Errorf("not oldest first:\n%s", describe(list))
				}
			}
		})
	}
}

// The same snapshots bucketed in another zone give another answer: the zone matters.
func TestPolicyZoneMatters(t *testing.T) {
	berlin := zone(t, "Europe/Berlin")
	snaps := series(t, berlin, "2024-06-01 12:00", "2024-12-31 23:30", "2025-01-01 00:30")
	p := Policy{Yearly: 2}
	inBerlin, _ := Apply(snaps, Rules{Policy: p, Location: berlin})
	inUTC, _ := Apply(snaps, Rules{Policy: p, Location: time.UTC})
	if got := reasonsByTime(inUTC, time.UTC, "2006-01-02 15:04"); !maps.Equal(got, map[string]string{
		"2024-06-01 10:00": "oldest yearly snapshot", "2024-12-31 23:30": "yearly snapshot"}) {
		t.Errorf("in UTC: %v", got)
	}
	if len(inBerlin) != 2 || inBerlin[0].Snapshot.ID != snaps[1].ID {
		t.Errorf("in Berlin: %v", localTimes(keptSnaps(inBerlin), berlin))
	}
}

// When New York's clocks go back, 01:00–02:00 happens twice; in local time it is one
// hour, so --keep-hourly keeps one snapshot of it (in UTC they are two hours).
func TestPolicyRepeatedHourIsOneHour(t *testing.T) {
	ny := zone(t, "America/New_York")
	edt := time.Date(2024, 11, 3, 4, 30, 0, 0, time.UTC) // 00:30 EDT
	var snaps []repo.Snapshot
	for h := range 4 { // 00:30 EDT, 01:30 EDT, 01:30 EST, 02:30 EST
		snaps = append(snaps, snapAt(edt.Add(time.Duration(h)*time.Hour)))
	}
	keep, _ := Apply(snaps, Rules{Policy: Policy{Hourly: 3}, Location: ny})
	if want := []repo.Snapshot{snaps[0], snaps[2], snaps[3]}; !sameIDs(keptSnaps(keep), want) {
		t.Errorf("kept %v", localTimes(keptSnaps(keep), ny))
	}
	keep, _ = Apply(snaps, Rules{Policy: Policy{Hourly: 3}, Location: time.UTC})
	if !sameIDs(keptSnaps(keep), snaps[1:]) {
		t.Errorf("in UTC kept %v", localTimes(keptSnaps(keep), time.UTC))
	}
}
