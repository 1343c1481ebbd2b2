package schedule

import (
	"fmt"
	"strconv"
	"strings"
)

// DefaultPath is the PATH a cron line sets when the spec names none: cron starts
// jobs with a minimal PATH, and hooks call commands by name.
const DefaultPath = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

// marker is the comment line above a profile's crontab line, by which Remove finds it.
func marker(profile string) string {
	return "# cairn job " + strconv.Quote(profile) + ": added by cairn job schedule"
}

// CronEntry returns the profile's two crontab lines: the marker comment and the job.
func CronEntry(s Spec) string {
	path := s.Path
	if path == "" {
		path = DefaultPath
	}
	words := []string{"PATH=" + shellQuote(path)}
	if s.Nice != 0 {
		words = append(words, "nice", "-n", strconv.Itoa(s.Nice))
	}
	if s.Ionice {
		words = append(words, "ionice", "-c", "3")
	}
	for _, a := range s.command() {
		words = append(words, shellQuote(a))
	}
	if s.RandomDelay > 0 { // cron has no RandomizedDelaySec: the job waits itself
		words = append(words, "--random-delay", s.RandomDelay.String())
	}
	// cron turns an unescaped % into a line break.
	line := strings.ReplaceAll(strings.Join(words, " "), "%", `\%`)
	return fmt.Sprintf("%s\n%d %d * * * %s\n", marker(s.Profile), s.Minute, s.Hour, line)
}

// AddCron returns the crontab with the profile's entry in place of any earlier one,
// every other line kept as it was.
func AddCron(tab []byte, s Spec) []byte {
	kept, _ := RemoveCron(tab, s.Profile)
	out := string(kept)
	if out != "" && !strings.HasSuffix(out, "\n") {
		out += "\n"
	}
	return []byte(out + CronEntry(s))
}

// RemoveCron returns the crontab without the profile's entry (its marker and the
// line after it), and whether there was one.
func RemoveCron(tab []byte, profile string) ([]byte, bool) {
	lines := strings.SplitAfter(string(tab), "\n")
	var out strings.Builder
	found := false
	for i := 0; i < len(lines); i++ {
		if strings.TrimRight(lines[i], "\n") == marker(profile) {
			found = true
			i++ // the job line
			continue
		}
		out.WriteString(lines[i])
	}
	return []byte(out.String()), found
}

// ParseCron finds the time of day of the profile's crontab entry.
func ParseCron(tab []byte, profile string) (hour, minute int, ok bool) {
	lines := strings.Split(string(tab), "\n")
	for i := 0; i+1 < len(lines); i++ {
		if lines[i] != marker(profile) {
			continue
		}
		n, _ := fmt.Sscanf(lines[i+1], "%d %d * * * ", &minute, &hour)
		return hour, minute, n == 2
	}
	return 0, 0, false
}
