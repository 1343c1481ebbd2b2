package forget

import (
	"testing"
	"time"
)

func TestParseDuration(t *testing.T) {
	for in, want := range map[string]Duration{
		"": {}, "7d": {Days: 7}, "1y2m3d4h": {1, 2, 3, 4}, "4h3d": {Days: 3, Hours: 4}, " 2m ": {Months: 2}, "0d": {},
	} {
		got, err := ParseDuration(in)
		if err != nil || got != want {
			t.Errorf("ParseDuration(%q) = %+v, %v; want %+v", in, got, err, want)
		}
	}
	for _, bad := range []string{"7", "d", "7x", "-1d", "1d2", "1.5d", "99999999999999999999d", "7 d"} {
		if d, err := ParseDuration(bad); err == nil {
			t.Errorf("ParseDuration(%q) = %+v, want an error", bad, d)
		}
	}
	if s := (Duration{1, 0, 3, 4}).String(); s != "1y3d4h" {
		t.Errorf("String = %q", s)
	}
}

// Calendar units go by the calendar of the zone: a day before a DST change is 23 or
// 25 hours, a month before 31 March is 2 or 3 March, as time.AddDate counts.
func TestDurationBefore(t *testing.T) {
	berlin := zone(t, "Europe/Berlin")
	end := time.Date(2024, 3, 31, 12, 0, 0, 0, berlin)
	if got := (Duration{Days: 1}).Before(end); end.Sub(got) != 23*time.Hour {
		t.Errorf("1d before %v is %v", end, got)
	}
	if got := (Duration{Months: 1, Hours: 2}).Before(end); !got.Equal(time.Date(2024, 3, 2, 10, 0, 0, 0, berlin)) {
		t.Errorf("1m2h before %v is %v", end, got)
	}
}

func TestPolicyStringAndValidate(t *testing.T) {
	p := Policy{Daily: 7, Weekly: 4, Monthly: Unlimited, WithinDaily: Duration{Days: 3}, Within: Duration{Days: 2}, Tags: [][]string{{"a", "b"}}}
	want := "keep 7 daily, 4 weekly, all monthly snapshots, daily snapshots within 3d and all snapshots with tags [[a, b]] and all snapshots within 2d of the newest"
	if s := p.String(); s != want {
		t.Errorf("String:\n%s\nwant\n%s", s, want)
	}
	if err := p.Validate(); err != nil || p.Empty() {
		t.Errorf("Validate %v, Empty %v", err, p.Empty())
	}
	if !(Policy{}).Empty() || (Policy{Tags: [][]string{{"x"}}}).Empty() || (Policy{WithinYearly: Duration{Years: 1}}).Empty() {
		t.Error("Empty is wrong")
	}
	for _, bad := range []Policy{{Daily: -2}, {Within: Duration{Days: -1}}, {Tags: [][]string{{}}}} {
		if bad.Validate() == nil {
			t.Errorf("%+v validates", bad)
		}
	}
}
