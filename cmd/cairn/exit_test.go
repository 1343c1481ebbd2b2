package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/cairn-backup/cairn/backup/archive"
	"github.com/cairn-backup/cairn/backup/mount"
	"github.com/cairn-backup/cairn/backup/restore"
	"github.com/cairn-backup/cairn/backup/verify"
	"github.com/cairn-backup/cairn/internal/crypto"
	"github.com/cairn-backup/cairn/internal/repo"
	"github.com/cairn-backup/cairn/manifest"
	"github.com/cairn-backup/cairn/remote"
)

// Every engine's error is mapped to its exit code in one place, through any wrapping.
func TestExitCode(t *testing.T) {
	for _, tc := range []struct {
		err         error
		interrupted bool
		want        int
	}{
		{nil, false, exitOK},
		{nil, true, exitOK},
		{context.Canceled, true, exitInterrupted},
		{errors.New("disk full"), false, exitFatal},
		{fmt.Errorf("put data/ab: %w", remote.ErrFull), false, exitFatal},
		{fmt.Errorf("%w: 2", archive.ErrPartial), false, exitPartial},
		{fmt.Errorf("%w: 2", restore.ErrPartial), false, exitPartial},
		{fmt.Errorf("%w: 2", verify.ErrPartial), false, exitPartial},
		{fmt.Errorf("%w: 1 problem", verify.ErrDamage), false, exitDamage},
		{fmt.Errorf("check: %w", manifest.ErrProof), false, exitDamage},
		{fmt.Errorf("%w at x", repo.ErrNoRepository), false, exitNoRepo},
		{fmt.Errorf("open: %w", crypto.ErrWrongPassword), false, exitWrongPass},
		{fmt.Errorf("unmount /m: %w", mount.ErrBusy), true, exitFatal}, // the mount is still there
	} {
		if got := exitCode(tc.err, tc.interrupted); got != tc.want {
			t.Errorf("exitCode(%v, %v) = %d, want %d", tc.err, tc.interrupted, got, tc.want)
		}
	}
}

func TestReportExit(t *testing.T) {
	partial := fmt.Errorf("%w: 2", archive.ErrPartial)
	for _, tc := range []struct {
		json bool
		code int
		err  error
		want string
	}{
		{false, exitOK, nil, ""},
		{true, exitOK, nil, ""},
		{false, exitFatal, errors.New("disk full"), "cairn: disk full\n"},
		{false, exitPartial, partial, ""}, // each problem was listed already
		{false, exitInterrupted, context.Canceled, "cairn: interrupted; run the command again to finish (what was done is kept)\n"},
		{true, exitFatal, errors.New("disk full"), `{"message_type":"exit_error","code":1,"message":"disk full"}` + "\n"},
		{false, exitFatal, fmt.Errorf("upload pack ab12: put data/ab: %w", remote.ErrFull), "cairn: repository full: upload pack ab12: put data/ab: storage full\n"},
		{true, exitPartial, partial, `{"message_type":"exit_error","code":3,"message":"some source files could not be read: 2"}` + "\n"},
		{true, exitInterrupted, context.Canceled, `{"message_type":"exit_error","code":130,"message":"interrupted; run the command again to finish (what was done is kept)"}` + "\n"},
	} {
		var b bytes.Buffer
		reportExit(&b, tc.json, tc.code, tc.err)
		if b.String() != tc.want {
			t.Errorf("reportExit(json %v, %d, %v) wrote %q, want %q", tc.json, tc.code, tc.err, b.String(), tc.want)
		}
	}
}

// exitErrorOf parses the last line of stderr as the exit_error object --json promises.
func exitErrorOf(t *testing.T, stderr string) exitError {
	t.Helper()
	lines := strings.Split(strings.TrimSpace(stderr), "\n")
	var e exitError
	dec := json.NewDecoder(strings.NewReader(lines[len(lines)-1]))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&e); err != nil || e.MessageType != "exit_error" {
		t.Fatalf("last line of stderr is not an exit_error (%v):\n%s", err, stderr)
	}
	return e
}

func TestJSONErrorsOnStderr(t *testing.T) {
	c := newCLI(t)
	r := c.Run("--json", "snapshots")
	if e := exitErrorOf(t, r.Stderr); r.Code != exitNoRepo || e.Code != exitNoRepo || !strings.Contains(e.Message, "no repository at "+c.Repo) {
		t.Fatalf("no repository: exit %d, %+v", r.Code, e)
	}
	if strings.Count(r.Stderr, "\n") != 1 || r.Stdout != "" {
		t.Fatalf("want one line on stderr and nothing on stdout:\n%s%s", r.Stdout, r.Stderr)
	}
	if r := c.Run("snapshots"); !strings.HasPrefix(r.Stderr, "cairn: no repository at ") {
		t.Fatalf("without --json the error is text: %q", r.Stderr)
	}
	c.OK("init")
	c.Env = append(c.Env, "CAIRN_PASSWORD=wrong")
	r = c.Run("ls", "latest", "--json") // the flag after the command counts too
	if e := exitErrorOf(t, r.Stderr); r.Code != exitWrongPass || e.Code != exitWrongPass || !strings.Contains(e.Message, "wrong password") {
		t.Fatalf("wrong password: exit %d, %+v", r.Code, e)
	}
}

// A partial run still ends with its exit_error under --json: backup with an unreadable
// file, and verify --against a tree with one (exit 3 both, from the engines' ErrPartial).
func TestJSONPartialExit(t *testing.T) {
	c := newCLI(t)
	src := backedUp(t, c)
	secret := filepath.Join(src, "d", "b.txt")
	if err := os.Chmod(secret, 0); err != nil { // metadata changed: verify reads it again
		t.Fatal(err)
	}
	for _, args := range [][]string{{"--json", "backup", src}, {"--json", "verify", "--against", src}} {
		cmd := c.Cmd(args...)
		if os.Geteuid() == 0 {
			asNobody(t, cmd, c)
		}
		r := runCmd(t, cmd)
		e := exitErrorOf(t, r.Stderr)
		item := `"during":"unreadable","error":{"message":`
		if r.Code != exitPartial || e.Code != exitPartial || !strings.Contains(r.Stderr, item) || !strings.Contains(r.Stderr, `"item":"`+secret+`"`) {
			t.Fatalf("cairn %s: exit %d, %+v\n%s%s", strings.Join(args, " "), r.Code, e, r.Stdout, r.Stderr)
		}
		for _, line := range strings.Split(strings.TrimSpace(r.Stderr), "\n") {
			if !json.Valid([]byte(line)) {
				t.Errorf("cairn %s: a line of stderr under --json is not JSON: %s", strings.Join(args, " "), line)
			}
		}
		if !strings.Contains(e.Message, "could not be read: 1") {
			t.Errorf("cairn %s: exit_error message %q does not say how many were unreadable", strings.Join(args, " "), e.Message)
		}
	}
}
