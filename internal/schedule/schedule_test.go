package schedule

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/cairn-backup/cairn/internal/golden"
)

func userSpec() Spec {
	return Spec{
		Profile: "home", Hour: 2, Minute: 30, Binary: "/usr/local/bin/cairn",
		Config: "/home/ann/.config/cairn/profiles.toml", RandomDelay: 10 * time.Minute, Nice: 10,
	}
}

// A name with a space, a quote, a percent and a dollar: each has a meaning in unit
// files, in cron or in sh.
func oddSpec() Spec {
	return Spec{
		Profile: `db 100% "$HOME"`, Hour: 23, Minute: 5, Binary: "/opt/cairn tools/cairn",
		Config: "/etc/cairn/profiles.toml", RandomDelay: 90 * time.Second, Nice: 19,
		System: true, Home: "/root", Path: "/opt/bin:/usr/bin:/bin", Ionice: true,
	}
}

func TestGoldenUnits(t *testing.T) {
	for name, s := range map[string]Spec{"user": userSpec(), "odd": oddSpec()} {
		if err := s.Check(); err != nil {
			t.Fatal(err)
		}
		golden.Check(t, name+".service", Service(s))
		golden.Check(t, name+".timer", Timer(s))
		golden.Check(t, name+".crontab", AddCron([]byte("MAILTO=ann\n0 * * * * date\n"), s))
		h, m, d, ok := ParseTimer(Timer(s))
		if !ok || h != s.Hour || m != s.Minute || d != s.RandomDelay {
			t.Errorf("%s: ParseTimer = %d:%d %v %v", name, h, m, d, ok)
		}
	}
}

func TestUnitName(t *testing.T) {
	for in, want := range map[string]string{
		"home":       "cairn-job-home",
		"db-1.daily": "cairn-job-db-1.daily",
		"a/b c":      `cairn-job-a\x2fb\x20c`,
		".hidden":    `cairn-job-\x2ehidden`,
		"é":          `cairn-job-\xc3\xa9`,
		"x_y:z":      "cairn-job-x_y:z",
	} {
		if got := UnitName(in); got != want {
			t.Errorf("UnitName(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestCronAddRemove(t *testing.T) {
	user := "MAILTO=ann\n0 * * * * date\n# cairn job \"other\": added by cairn job schedule\n1 1 * * * x\n"
	s := userSpec()
	tab := AddCron([]byte(user), s)
	s.Hour = 4
	tab = AddCron(tab, s) // again: replaced, not doubled
	if n := strings.Count(string(tab), `cairn job "home"`); n != 1 {
		t.Errorf("%d entries for home after two adds:\n%s", n, tab)
	}
	h, m, ok := ParseCron(tab, "home")
	if !ok || h != 4 || m != 30 {
		t.Errorf("ParseCron = %d:%d %v", h, m, ok)
	}
	back, found := RemoveCron(tab, "home")
	if !found || string(back) != user {
		t.Errorf("remove: found %v, got\n%s\nwant\n%s", found, back, user)
	}
	if _, found := RemoveCron(back, "home"); found {
		t.Error("removed twice")
	}
	if _, _, ok := ParseCron(back, "home"); ok {
		t.Error("ParseCron found a removed entry")
	}
	// A crontab without a final newline keeps its last line whole.
	if got := string(AddCron([]byte("0 * * * * date"), s)); !strings.HasPrefix(got, "0 * * * * date\n# cairn job") {
		t.Errorf("got %q", got)
	}
}

func TestParseAt(t *testing.T) {
	for _, ok := range []string{"02:30", "2:30", "23:59", "00:00"} {
		if _, _, err := ParseAt(ok); err != nil {
			t.Errorf("ParseAt(%q): %v", ok, err)
		}
	}
	for _, bad := range []string{"", "24:00", "2:3", "02:60", "2pm", "02:30:00", "-1:30"} {
		if _, _, err := ParseAt(bad); err == nil {
			t.Errorf("ParseAt(%q) accepted", bad)
		}
	}
}

func TestCheck(t *testing.T) {
	for name, mod := range map[string]func(*Spec){
		"relative binary": func(s *Spec) { s.Binary = "cairn" },
		"relative config": func(s *Spec) { s.Config = "profiles.toml" },
		"newline in name": func(s *Spec) { s.Profile = "a\nb" },
		"newline in path": func(s *Spec) { s.Config = "/etc/a\nb.toml" },
		"empty name":      func(s *Spec) { s.Profile = "" },
		"nice":            func(s *Spec) { s.Nice = 20 },
	} {
		s := userSpec()
		mod(&s)
		if s.Check() == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}

func TestNext(t *testing.T) {
	loc := time.FixedZone("X", 3600)
	now := time.Date(2026, 3, 4, 2, 30, 0, 0, loc)
	if got := Next(2, 30, now); !got.Equal(now.Add(24 * time.Hour)) {
		t.Errorf("at the very time: %v", got)
	}
	if got := Next(3, 0, now); !got.Equal(now.Add(30 * time.Minute)) {
		t.Errorf("later today: %v", got)
	}
	if got := Next(1, 0, now); !got.Equal(now.Add(22*time.Hour + 30*time.Minute)) {
		t.Errorf("tomorrow: %v", got)
	}
}

// The job line, as cron hands it to sh (cron turns "\%" back into "%"), runs the
// binary with exactly the words of the spec, under the PATH it sets.
func TestCronLineRunsInSh(t *testing.T) {
	dir := t.TempDir()
	bin := filepath.Join(dir, "cairn tools", "cairn")
	os.Mkdir(filepath.Dir(bin), 0o755)
	script := "#!/bin/sh\necho \"PATH=$PATH\"\nfor a in \"$@\"; do echo \"[$a]\"; done\n"
	if err := os.WriteFile(bin, []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	s := Spec{Profile: `db 100% "$HOME" it's`, Hour: 1, Minute: 2, Binary: bin,
		Config: filepath.Join(dir, "a'b $x %y.toml"), Path: "/usr/bin:/bin"}
	lines := strings.Split(strings.TrimSpace(CronEntry(s)), "\n")
	fields := strings.SplitN(lines[1], " ", 6)
	cmd := strings.ReplaceAll(fields[5], `\%`, "%")
	out, err := exec.Command("/bin/sh", "-c", cmd).CombinedOutput()
	if err != nil {
		t.Fatalf("%v: %s\n%s", err, out, cmd)
	}
	want := "PATH=/usr/bin:/bin\n[job]\n[run]\n[" + s.Profile + "]\n[--config]\n[" + s.Config + "]\n"
	if string(out) != want {
		t.Errorf("sh ran\n%s\nwant\n%s", out, want)
	}
}
