// Package schedule writes what runs `cairn job run NAME` every night: a systemd
// service and timer, or a crontab line. It only makes text (and reads back what it
// made); installing it is the command's work.
package schedule

import (
	"errors"
	"fmt"
	"path/filepath"
	"strconv"
	"strings"
	"time"
	"unicode"
)

// Spec is one nightly job to schedule.
type Spec struct {
	Profile      string
	Hour, Minute int           // local time
	Binary       string        // absolute path of cairn
	Config       string        // absolute path of the profile file
	RandomDelay  time.Duration // systemd: RandomizedDelaySec; cron: job run --random-delay
	Nice         int           // 0 … 19
	System       bool          // system units (as root) rather than user units
	Home         string        // system units: HOME for the job (cache and state folders)
	Path         string        // cron: PATH for the job, cron's own is minimal
	Ionice       bool          // cron: run under ionice -c 3 (systemd says IOSchedulingClass)
}

// ParseAt parses a time of day, "02:30" or "2:30".
func ParseAt(s string) (hour, minute int, err error) {
	h, m, ok := strings.Cut(s, ":")
	hour, herr := strconv.Atoi(h)
	minute, merr := strconv.Atoi(m)
	if !ok || herr != nil || merr != nil || len(m) != 2 || hour < 0 || hour > 23 || minute < 0 || minute > 59 {
		return 0, 0, fmt.Errorf("--at %q: want a time of day such as 02:30", s)
	}
	return hour, minute, nil
}

// Check refuses what would make a broken unit or crontab.
func (s Spec) Check() error {
	if s.Profile == "" || strings.IndexFunc(s.Profile, unicode.IsControl) >= 0 {
		return fmt.Errorf("profile name %q: empty or holds a control character", s.Profile)
	}
	if !filepath.IsAbs(s.Binary) || !filepath.IsAbs(s.Config) {
		return errors.New("the cairn binary and the profile file need absolute paths")
	}
	if strings.IndexFunc(s.Binary+s.Config+s.Home+s.Path, unicode.IsControl) >= 0 {
		return errors.New("a path holds a control character")
	}
	if s.Nice < 0 || s.Nice > 19 {
		return fmt.Errorf("nice %d: want 0 to 19", s.Nice)
	}
	if s.RandomDelay < 0 {
		return errors.New("random delay: negative")
	}
	return nil
}

// UnitName is the base name of the profile's units: "cairn-job-NAME", with
// characters systemd does not allow in unit names written as \xNN (as systemd-escape).
func UnitName(profile string) string {
	var b strings.Builder
	b.WriteString("cairn-job-")
	for i := 0; i < len(profile); i++ {
		c := profile[i]
		if c < 0x80 && (c == '_' || c == '-' || c == ':' || (c == '.' && i > 0) ||
			unicode.IsLetter(rune(c)) || unicode.IsDigit(rune(c))) {
			b.WriteByte(c)
			continue
		}
		fmt.Fprintf(&b, `\x%02x`, c)
	}
	return b.String()
}

// UnitDir is where units go: /etc/systemd/system for system units, else
// CONFIG/systemd/user where CONFIG is $XDG_CONFIG_HOME or ~/.config.
func UnitDir(system bool, configHome string) string {
	if system {
		return "/etc/systemd/system"
	}
	return filepath.Join(configHome, "systemd", "user")
}

func (s Spec) command() []string {
	return []string{s.Binary, "job", "run", s.Profile, "--config", s.Config}
}

// Service returns the service unit that runs the job once.
func Service(s Spec) []byte {
	var b strings.Builder
	fmt.Fprintf(&b, "# Written by cairn job schedule; remove with: cairn job schedule %s --remove\n", shellQuote(s.Profile))
	fmt.Fprintf(&b, "[Unit]\nDescription=cairn backup job %s\n", unitText(s.Profile))
	if s.System { // user managers have no network-online.target of their own
		b.WriteString("Wants=network-online.target\nAfter=network-online.target\n")
	}
	b.WriteString("\n[Service]\nType=oneshot\n")
	args := make([]string, 0, 6)
	for _, a := range s.command() {
		args = append(args, execQuote(a))
	}
	fmt.Fprintf(&b, "ExecStart=%s\n", strings.Join(args, " "))
	if s.System && s.Home != "" {
		fmt.Fprintf(&b, "Environment=%s\n", execQuote("HOME="+s.Home))
	}
	fmt.Fprintf(&b, "Nice=%d\nIOSchedulingClass=idle\n", s.Nice)
	return []byte(b.String())
}

// Timer returns the timer unit that starts the service every day at the time.
func Timer(s Spec) []byte {
	var b strings.Builder
	fmt.Fprintf(&b, "# Written by cairn job schedule; remove with: cairn job schedule %s --remove\n", shellQuote(s.Profile))
	fmt.Fprintf(&b, "[Unit]\nDescription=Nightly cairn backup job %s\n\n", unitText(s.Profile))
	fmt.Fprintf(&b, "[Timer]\nOnCalendar=*-*-* %02d:%02d:00\nPersistent=true\n", s.Hour, s.Minute)
	fmt.Fprintf(&b, "RandomizedDelaySec=%d\n", int64(s.RandomDelay/time.Second))
	b.WriteString("\n[Install]\nWantedBy=timers.target\n")
	return []byte(b.String())
}

// ParseTimer reads back the time of day and delay of a timer Timer wrote.
func ParseTimer(unit []byte) (hour, minute int, delay time.Duration, ok bool) {
	found := false
	for _, line := range strings.Split(string(unit), "\n") {
		if v, is := strings.CutPrefix(line, "OnCalendar=*-*-* "); is {
			var sec int
			n, _ := fmt.Sscanf(v, "%d:%d:%d", &hour, &minute, &sec)
			found = n == 3
		}
		if v, is := strings.CutPrefix(line, "RandomizedDelaySec="); is {
			if n, err := strconv.Atoi(v); err == nil {
				delay = time.Duration(n) * time.Second
			}
		}
	}
	return hour, minute, delay, found
}

// Next is the first time of day hour:minute (local) after now.
func Next(hour, minute int, now time.Time) time.Time {
	t := time.Date(now.Year(), now.Month(), now.Day(), hour, minute, 0, 0, now.Location())
	if !t.After(now) {
		t = time.Date(now.Year(), now.Month(), now.Day()+1, hour, minute, 0, 0, now.Location())
	}
	return t
}

// execQuote quotes one word of a systemd command line: bare when plain, else in
// double quotes with C escapes; "%" (specifiers) and "$" (variables) doubled.
func execQuote(s string) string {
	s = strings.NewReplacer("%", "%%", "$", "$$").Replace(s)
	if s != "" && strings.IndexFunc(s, notPlain) < 0 {
		return s
	}
	return `"` + strings.NewReplacer(`\`, `\\`, `"`, `\"`).Replace(s) + `"`
}

// unitText makes a name safe in a unit file's value: no specifiers, no line breaks.
func unitText(s string) string {
	return strings.ReplaceAll(s, "%", "%%")
}

func notPlain(r rune) bool {
	return !(r < 0x80 && (unicode.IsLetter(r) || unicode.IsDigit(r) || strings.ContainsRune("/._:@+=,-%$", r)))
}

// shellQuote quotes one word for sh: bare when plain, else in single quotes.
func shellQuote(s string) string {
	if s != "" && strings.IndexFunc(s, func(r rune) bool { return notPlain(r) || r == '%' || r == '$' }) < 0 {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}
