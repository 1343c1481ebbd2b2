package profile

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// DefaultHookTimeout bounds a hook without its own timeout.
const DefaultHookTimeout = 10 * time.Minute

// check refuses what cannot make a job and parses the strings with a meaning.
func (p *Profile) check() error {
	if p.Repository == "" {
		return keyErr("repository", "missing: the repository (a directory, or s3:…) is required")
	}
	if len(p.Paths) == 0 {
		return keyErr("paths", "missing: give the paths to back up")
	}
	if n := countSet(p.PasswordFile, p.PasswordCommand, p.Password); n > 1 {
		return keyErr("password-file", "give one of password-file, password-command and password")
	}
	var err error
	if p.PruneEvery, err = ParseInterval(p.Prune); err != nil {
		return keyErr("prune", "%w", err)
	}
	if p.PruneWhenUnused != "" {
		if p.PruneUnused, err = parseShare(p.PruneWhenUnused); err != nil {
			return keyErr("prune-when-unused", "%w", err)
		}
	}
	if d := p.Verify.ReadDataDays; d < 0 || d > 3660 {
		return keyErr("verify.read-data-days", "%d: want a number of days from 1 to 3660 (0: no rolling slice)", d)
	}
	if p.S3.RetryBudget != "" {
		if d, err := time.ParseDuration(p.S3.RetryBudget); err != nil || d < 0 {
			return keyErr("s3.retry-budget", "%q is not a duration like 15m", p.S3.RetryBudget)
		}
	}
	if p.LimitUpload < 0 || p.LimitDownload < 0 {
		return keyErr("limit-upload", "a bandwidth limit is a number of KiB/s, 0 for none")
	}
	if err := p.checkPriority(); err != nil {
		return err
	}
	return p.checkHooks()
}

func (p *Profile) checkPriority() error {
	if p.Nice != nil && (*p.Nice < -20 || *p.Nice > 19) {
		return keyErr("nice", "%d: want -20 (first) to 19 (last)", *p.Nice)
	}
	switch p.IONiceClass {
	case "", "realtime", "best-effort", "idle":
	default:
		return keyErr("ionice-class", "%q: want realtime, best-effort or idle", p.IONiceClass)
	}
	if l := p.IONiceLevel; l != nil {
		if *l < 0 || *l > 7 {
			return keyErr("ionice-level", "%d: want 0 (first) to 7 (last)", *l)
		}
		if p.IONiceClass == "" || p.IONiceClass == "idle" {
			return keyErr("ionice-level", "a level needs ionice-class realtime or best-effort")
		}
	}
	return nil
}

func (p *Profile) checkHooks() error {
	h := &p.Hooks
	p.HookTimeout = DefaultHookTimeout
	if h.Timeout != "" {
		d, err := time.ParseDuration(h.Timeout)
		if err != nil || d <= 0 {
			return keyErr("hooks.timeout", "%q is not a positive duration like 5m", h.Timeout)
		}
		p.HookTimeout = d
	}
	switch h.HookFailure {
	case "", "fatal":
		p.HooksFatal = true
	case "continue":
	default:
		return keyErr("hooks.hook-failure", "%q: want fatal or continue", h.HookFailure)
	}
	for _, list := range [][]string{h.Before, h.AfterSuccess, h.AfterFailure, h.Always} {
		for _, c := range list {
			if strings.TrimSpace(c) == "" {
				return keyErr("hooks", "an empty command line")
			}
		}
	}
	return nil
}

func countSet(ss ...string) int {
	n := 0
	for _, s := range ss {
		if s != "" {
			n++
		}
	}
	return n
}

// ParseInterval reads how often to prune: "" or "never" (0), "daily", "weekly",
// "monthly" (30 days), a number of days like "10d", or a Go duration like "36h".
func ParseInterval(s string) (time.Duration, error) {
	const day = 24 * time.Hour
	switch s {
	case "", "never":
		return 0, nil
	case "daily":
		return day, nil
	case "weekly":
		return 7 * day, nil
	case "monthly":
		return 30 * day, nil
	}
	if n, ok := strings.CutSuffix(s, "d"); ok {
		if v, err := strconv.Atoi(n); err == nil && v > 0 {
			return time.Duration(v) * day, nil
		}
	}
	if d, err := time.ParseDuration(s); err == nil && d >= time.Hour {
		return d, nil
	}
	return 0, fmt.Errorf("%q: want daily, weekly, monthly, never, a number of days like 10d, or a duration of at least 1h", s)
}

// parseShare reads "10%" as 0.1.
func parseShare(s string) (float64, error) {
	v, err := strconv.ParseFloat(strings.TrimSuffix(s, "%"), 64)
	if err != nil || !strings.HasSuffix(s, "%") || !(v > 0 && v <= 100) {
		return 0, fmt.Errorf("%q is not a share like 10%%", s)
	}
	return v / 100, nil
}
