package main

import (
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestKeyAddWithoutNewPasswordNamesFlagAndVariable(t *testing.T) {
	c := newCLI(t)
	c.ok("init")
	for _, sub := range []string{"add", "passwd"} {
		r := c.run("key", sub)
		if r.code != exitFatal || strings.Count(r.stderr, "\n") != 1 ||
			!strings.Contains(r.stderr, "--new-password-file") || !strings.Contains(r.stderr, "CAIRN_NEW_PASSWORD") {
			t.Errorf("key %s without a new password: exit %d\n%s", sub, r.code, r.stderr)
		}
	}
}

func TestVersionJSON(t *testing.T) {
	c := newCLI(t)
	var v struct {
		MessageType string `json:"message_type"`
		Version     string `json:"version"`
		Format      int    `json:"repository_format"`
		GoVersion   string `json:"go_version"`
	}
	out := c.ok("version", "--json")
	if err := json.Unmarshal([]byte(out), &v); err != nil || v.MessageType != "version" || v.Version == "" || v.Format == 0 || v.GoVersion == "" {
		t.Fatalf("version --json: %v\n%s", err, out)
	}
}

// The summary says when, what, from which host, into which repository, and the
// snapshot: what a log of nightly runs must hold.
func TestBackupSummaryTellsWhenWhatWhere(t *testing.T) {
	c := newCLI(t)
	c.ok("init")
	src := filepath.Join(t.TempDir(), "src")
	writeFiles(t, src, map[string]string{"a": "alpha"})
	before := time.Now().Add(-time.Second)
	var sum backupSummary
	out := c.ok("backup", "--json", "-q", "--host", "web1", src)
	if err := json.Unmarshal([]byte(out), &sum); err != nil {
		t.Fatal(err)
	}
	repo, _ := filepath.Abs(c.repo)
	if sum.Start.Before(before) || sum.End.Before(sum.Start) || time.Since(sum.End) > time.Minute ||
		sum.Host != "web1" || len(sum.Paths) != 1 || sum.Paths[0] != src || sum.Repository != repo || len(sum.Snapshot) != 64 {
		t.Fatalf("JSON summary: %+v", sum)
	}
	text := c.ok("backup", "--host", "web1", src)
	for _, want := range []string{"Paths:      " + src + " on host web1\n", "Repository: " + repo + "\n", "Time:       ", " to "} {
		if !strings.Contains(text, want) {
			t.Errorf("text summary lacks %q:\n%s", want, text)
		}
	}
	if !strings.Contains(text, "snapshot ") {
		t.Errorf("text summary lacks the snapshot id:\n%s", text)
	}
}

// Every line cairn writes on stderr under --json is JSON, including the exit_error.
func TestJSONErrorWhenNoPassword(t *testing.T) {
	c := newCLI(t)
	c.ok("init")
	c.env = append(withoutEnv(c.env, "CAIRN_PASSWORD"), "CAIRN_PASSWORD_FILE="+filepath.Join(t.TempDir(), "missing"))
	r := c.run("--json", "snapshots")
	e := exitErrorOf(t, r.stderr)
	if r.code != exitFatal || e.Code != exitFatal || !strings.Contains(e.Message, "password file") {
		t.Fatalf("missing password file under --json: exit %d, %+v", r.code, e)
	}
}

// A mistyped command or flag stops before the flags are parsed; under --json its
// error is JSON all the same.
func TestJSONErrorForBadCommandLine(t *testing.T) {
	c := newCLI(t)
	for _, args := range [][]string{{"--json", "nosuchcmd"}, {"snapshots", "--bogus", "--json"}} {
		r := c.run(args...)
		if e := exitErrorOf(t, r.stderr); r.code != exitFatal || e.Code != exitFatal || strings.Count(r.stderr, "\n") != 1 {
			t.Errorf("%v: exit %d, %+v\n%s", args, r.code, e, r.stderr)
		}
	}
}
