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
	c.OK("init")
	for _, sub := range []string{"add", "passwd"} {
		r := c.Run("key", sub)
		if r.Code != exitFatal || strings.Count(r.Stderr, "\n") != 1 ||
			!strings.Contains(r.Stderr, "--new-password-file") || !strings.Contains(r.Stderr, "CAIRN_NEW_PASSWORD") {
			t.Errorf("key %s without a new password: exit %d\n%s", sub, r.Code, r.Stderr)
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
	out := c.OK("version", "--json")
	if err := json.Unmarshal([]byte(out), &v); err != nil || v.MessageType != "version" || v.Version == "" || v.Format == 0 || v.GoVersion == "" {
		t.Fatalf("version --json: %v\n%s", err, out)
	}
}

// The summary says when, what, from which host, into which repository, and the
// snapshot: what a log of nightly runs must hold.
func TestBackupSummaryTellsWhenWhatWhere(t *testing.T) {
	c := newCLI(t)
	c.OK("init")
	src := filepath.Join(t.TempDir(), "src")
	writeFiles(t, src, map[string]string{"a": "alpha"})
	before := time.Now().Add(-time.Second)
	var sum backupSummary
	out := c.OK("backup", "--json", "-q", "--host", "web1", src)
	if err := json.Unmarshal([]byte(out), &sum); err != nil {
		t.Fatal(err)
	}
	repo, _ := filepath.Abs(c.Repo)
	if sum.Start.Before(before) || sum.End.Before(sum.Start) || time.Since(sum.End) > time.Minute ||
		sum.Host != "web1" || len(sum.Paths) != 1 || sum.Paths[0] != src || sum.Repository != repo || len(sum.Snapshot) != 64 {
		t.Fatalf("JSON summary: %+v", sum)
	}
	text := c.OK("backup", "--host", "web1", src)
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
	c.OK("init")
	c.Env = append(withoutEnv(c.Env, "CAIRN_PASSWORD"), "CAIRN_PASSWORD_FILE="+filepath.Join(t.TempDir(), "missing"))
	r := c.Run("--json", "snapshots")
	e := exitErrorOf(t, r.Stderr)
	if r.Code != exitFatal || e.Code != exitFatal || !strings.Contains(e.Message, "password file") {
		t.Fatalf("missing password file under --json: exit %d, %+v", r.Code, e)
	}
}

// A mistyped command or flag stops before the flags are parsed; under --json its
// error is JSON all the same.
func TestJSONErrorForBadCommandLine(t *testing.T) {
	c := newCLI(t)
	for _, args := range [][]string{{"--json", "nosuchcmd"}, {"snapshots", "--bogus", "--json"}} {
		r := c.Run(args...)
		if e := exitErrorOf(t, r.Stderr); r.Code != exitFatal || e.Code != exitFatal || strings.Count(r.Stderr, "\n") != 1 {
			t.Errorf("%v: exit %d, %+v\n%s", args, r.Code, e, r.Stderr)
		}
	}
}
