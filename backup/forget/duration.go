package forget

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Duration is a span of calendar time as restic's --keep-within flags take it:
// years, months, days and hours, written like "1y2m3d4h" (any subset, in any order;
// "m" is months). Calendar units are applied with time.AddDate, so "1m" before
// 31 March is 3 March (February is short), as restic counts.
type Duration struct {
	Years, Months, Days, Hours int
}

// ParseDuration parses "1y2m3d4h" and its subsets. Every number needs a unit; an
// empty string is the zero Duration. Negative numbers are refused: a window that
// reaches into the future keeps nothing it should not and says nothing sensible.
func ParseDuration(s string) (Duration, error) {
	var d Duration
	rest := strings.TrimSpace(s)
	for rest != "" {
		i := 0
		for i < len(rest) && rest[i] >= '0' && rest[i] <= '9' {
			i++
		}
		if i == 0 {
			return Duration{}, fmt.Errorf("duration %q: expected a number at %q (like 1y2m3d4h)", s, rest)
		}
		n, err := strconv.Atoi(rest[:i])
		if err != nil || n > 1_000_000 {
			return Duration{}, fmt.Errorf("duration %q: number %s is too large", s, rest[:i])
		}
		if i == len(rest) {
			return Duration{}, fmt.Errorf("duration %q: no unit after %d (y, m, d or h)", s, n)
		}
		switch rest[i] {
		case 'y':
			d.Years = n
		case 'm':
			d.Months = n
		case 'd':
			d.Days = n
		case 'h':
			d.Hours = n
		default:
			return Duration{}, fmt.Errorf("duration %q: unknown unit %q after %d (y, m, d or h)", s, rest[i], n)
		}
		rest = rest[i+1:]
	}
	return d, nil
}

// String writes d as ParseDuration reads it, leaving out zero units ("7d", "1y6m").
func (d Duration) String() string {
	var b strings.Builder
	for _, u := range []struct {
		n    int
		unit string
	}{{d.Years, "y"}, {d.Months, "m"}, {d.Days, "d"}, {d.Hours, "h"}} {
		if u.n != 0 {
			b.WriteString(strconv.Itoa(u.n) + u.unit)
		}
	}
	return b.String()
}

// Zero reports whether d is empty: no window at all.
func (d Duration) Zero() bool { return d == Duration{} }

// Before returns the start of the window of length d that ends at t: a snapshot
// taken after it is within d of t.
func (d Duration) Before(t time.Time) time.Time {
	return t.AddDate(-d.Years, -d.Months, -d.Days).Add(-time.Duration(d.Hours) * time.Hour)
}

// Set parses s into d (a pflag.Value, for the --keep-within flags).
func (d *Duration) Set(s string) error {
	v, err := ParseDuration(s)
	if err != nil {
		return err
	}
	*d = v
	return nil
}

// Type names the flag's value in help texts.
func (d *Duration) Type() string { return "duration" }
