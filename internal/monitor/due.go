package monitor

import (
	"fmt"
	"time"
)

// Due is a task the job runs every so often (prune weekly, a verify slice daily):
// what `cairn job status` shows under "next".
type Due struct {
	Name  string        // "prune", "verify slice"
	Last  time.Time     // when it last ran; zero: never (or not known)
	Every time.Duration // its interval; 0: every run
	Note  string        // shown after it, e.g. "or when unused data exceeds 10%"
}

// Next is when the task is next due: Last+Every, or zero (at once) when it never ran.
func (d Due) Next() time.Time {
	if d.Last.IsZero() {
		return time.Time{}
	}
	return d.Last.Add(d.Every)
}

// Format says, as of now, whether the task is due: "prune: due (last 8d ago, every
// 7d)", "prune: in 2d 3h (last 4d 21h ago, every 7d)", "prune: due (never ran)".
func (d Due) Format(now time.Time) string {
	s := d.Name + ": "
	switch next := d.Next(); {
	case d.Every == 0:
		s += "every run"
	case d.Last.IsZero():
		s += "due (never ran)"
	case !next.After(now):
		s += fmt.Sprintf("due (last %s ago, every %s)", Span(now.Sub(d.Last)), Span(d.Every))
	default:
		s += fmt.Sprintf("in %s (last %s ago, every %s)", Span(next.Sub(now)), Span(now.Sub(d.Last)), Span(d.Every))
	}
	if d.Note != "" {
		s += ", " + d.Note
	}
	return s
}

// Span prints a duration as a person reads it: "8d", "2d 3h", "5h 10m", "1m30s", "42s".
func Span(d time.Duration) string {
	if d < 0 {
		d = -d
	}
	day := 24 * time.Hour
	switch {
	case d >= day:
		days, h := d/day, (d%day)/time.Hour
		if h == 0 {
			return fmt.Sprintf("%dd", days)
		}
		return fmt.Sprintf("%dd %dh", days, h)
	case d >= time.Hour:
		h, m := d/time.Hour, (d%time.Hour)/time.Minute
		if m == 0 {
			return fmt.Sprintf("%dh", h)
		}
		return fmt.Sprintf("%dh %dm", h, m)
	case d >= time.Minute:
		m, sec := d/time.Minute, (d%time.Minute)/time.Second
		if sec == 0 {
			return fmt.Sprintf("%dm", m)
		}
		return fmt.Sprintf("%dm%ds", m, sec)
	case d >= time.Second:
		return fmt.Sprintf("%ds", d/time.Second)
	}
	return d.Round(time.Millisecond).String()
}
