package profile

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

const good = `# two profiles
[nightly]
repository = "/srv/backup"
password-file = "/etc/cairn/password"
paths = ["/etc", "/home"]
excludes = ["*.tmp"]
tags = ["nightly"]
prune = "weekly"
prune-when-unused = "10%"
nice = 10
ionice-class = "idle"

[nightly.retention]
keep-daily = 7
keep-weekly = 4
keep-within = "2d"

[nightly.verify]
since-last = true
read-data-days = 30

[nightly.hooks]
before = ["pg_dump db > /var/backups/db.sql"]
timeout = "1m"
hook-failure = "continue"

[laptop]
repository = "s3:https://s3.example.com/bucket"
password-command = "pass show cairn"
paths = ["/home/me"]
`

func write(t *testing.T, text string, mode os.FileMode) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), FileName)
	if err := os.WriteFile(path, []byte(text), mode); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(path, mode); err != nil { // the umask may have narrowed it
		t.Fatal(err)
	}
	return path
}

func TestLoadGood(t *testing.T) {
	f, err := Load(write(t, good, 0o644))
	if err != nil {
		t.Fatal(err)
	}
	p, err := f.Get("nightly")
	if err != nil {
		t.Fatal(err)
	}
	if p.Name != "nightly" || p.PruneEvery != 7*24*time.Hour || p.PruneUnused != 0.1 || p.Verify.ReadDataDays != 30 {
		t.Errorf("nightly = %+v", p)
	}
	if p.HookTimeout != time.Minute || p.HooksFatal || *p.Nice != 10 || p.Retention.KeepDaily != 7 {
		t.Errorf("nightly hooks and priority = %+v", p)
	}
	l, _ := f.Get("laptop")
	if !l.HooksFatal || l.HookTimeout != DefaultHookTimeout || l.PruneEvery != 0 || !l.Retention.Empty() {
		t.Errorf("laptop defaults = %+v", l)
	}
	if _, err := f.Get("nope"); err == nil || !strings.Contains(err.Error(), "laptop nightly") {
		t.Errorf("unknown profile: %v", err)
	}
}

// An error names the file, the line and the key, for typos, wrong types and wrong
// values alike.
func TestErrorsNameFileLineAndKey(t *testing.T) {
	cases := []struct{ name, text, want string }{
		{"typo", "[n]\nrepository = \"/r\"\npaths = [\"/a\"]\n[n.retention]\nkeep-dialy = 7\n", ":5: unknown key n.retention.keep-dialy"},
		{"typo top", "[n]\nrepository = \"/r\"\npaths = [\"/a\"]\nexclude = [\"x\"]\n", ":4: unknown key n.exclude"},
		{"type", "[n]\nrepository = \"/r\"\npaths = \"/a\"\n", ":3: key n.paths"},
		{"value", "[n]\nrepository = \"/r\"\npaths = [\"/a\"]\nprune = \"fortnightly\"\n", ":4: n.prune: \"fortnightly\""},
		{"sub value", "[n]\nrepository = \"/r\"\npaths = [\"/a\"]\n\n[n.hooks]\nhook-failure = \"ignore\"\n", ":6: n.hooks.hook-failure"},
		{"missing", "[n]\npaths = [\"/a\"]\n", "n.repository: missing"},
		{"syntax", "[n]\nrepository = /r\n", ":2:"},
		{"name", "[\"a b\"]\nrepository = \"/r\"\npaths = [\"/a\"]\n", ":1: profile name"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			path := write(t, c.text, 0o600)
			_, err := Load(path)
			if err == nil || !strings.Contains(err.Error(), path) || !strings.Contains(err.Error(), c.want) {
				t.Errorf("error = %v; want the file and %q", err, c.want)
			}
		})
	}
}

// A password in a file others may read is refused; at mode 0600 it is taken.
func TestInlinePasswordNeedsPrivateFile(t *testing.T) {
	text := "[n]\nrepository = \"/r\"\npaths = [\"/a\"]\npassword = \"hunter2\"\n"
	_, err := Load(write(t, text, 0o644))
	if err == nil || !strings.Contains(err.Error(), ":4: n.password") || !strings.Contains(err.Error(), "chmod 600") {
		t.Errorf("world-readable password: %v", err)
	}
	if _, err := Load(write(t, text, 0o640)); err == nil {
		t.Error("group-readable password accepted")
	}
	if _, err := Load(write(t, text, 0o600)); err != nil {
		t.Errorf("private file refused: %v", err)
	}
	secretEnv := "[n]\nrepository = \"/r\"\npaths = [\"/a\"]\n[n.env]\nAWS_SECRET_ACCESS_KEY = \"x\"\n"
	if _, err := Load(write(t, secretEnv, 0o644)); err == nil || !strings.Contains(err.Error(), "n.env.AWS_SECRET_ACCESS_KEY") {
		t.Errorf("world-readable secret env: %v", err)
	}
}

func TestFindOrder(t *testing.T) {
	dir := t.TempDir()
	t.Setenv("XDG_CONFIG_HOME", dir)
	if got, _ := Find("/some/file.toml"); got != "/some/file.toml" {
		t.Errorf("explicit: %s", got)
	}
	if sp := SearchPath(); sp[0] != filepath.Join(dir, "cairn", FileName) || sp[1] != "/etc/cairn/profiles.toml" {
		t.Errorf("search path %v", sp)
	}
	mine := filepath.Join(dir, "cairn", FileName)
	_ = os.MkdirAll(filepath.Dir(mine), 0o700)
	_ = os.WriteFile(mine, []byte(""), 0o600)
	if got, err := Find(""); got != mine || err != nil {
		t.Errorf("Find = %s, %v", got, err)
	}
}

func TestParseInterval(t *testing.T) {
	for in, want := range map[string]time.Duration{"": 0, "never": 0, "daily": 24 * time.Hour,
		"weekly": 168 * time.Hour, "10d": 240 * time.Hour, "36h": 36 * time.Hour} {
		if got, err := ParseInterval(in); err != nil || got != want {
			t.Errorf("%q: %v, %v", in, got, err)
		}
	}
	for _, bad := range []string{"1m", "0d", "-3d", "often"} {
		if _, err := ParseInterval(bad); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}

func FuzzParse(f *testing.F) {
	f.Add([]byte(good))
	f.Add([]byte("[n]\nrepository = 1\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		_, _ = Parse("fuzz.toml", data) // must not panic
	})
}

// The example profile file of the docs stays valid.
func TestExampleParses(t *testing.T) {
	data, err := os.ReadFile("../../docs/profiles.example.toml")
	if err != nil {
		t.Fatal(err)
	}
	f, err := Parse("profiles.example.toml", data)
	if err != nil {
		t.Fatal(err)
	}
	if p, _ := f.Get("nightly"); p == nil || p.Verify.ReadDataDays != 30 || p.PruneEvery != 7*24*time.Hour {
		t.Errorf("nightly = %+v", p)
	}
}
