package main

import (
	"bytes"
	"encoding/json"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// streamFile writes size pseudo-random bytes (a stand-in for a database dump).
func streamFile(t *testing.T, size int) string {
	t.Helper()
	data := make([]byte, size)
	rng := rand.New(rand.NewPCG(16, 1))
	for i := range data {
		data[i] = byte(rng.Uint32())
	}
	p := filepath.Join(t.TempDir(), "dump")
	if err := os.WriteFile(p, data, 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func backupAdded(t *testing.T, out string) uint64 {
	t.Helper()
	var sum backupSummary
	if err := json.Unmarshal([]byte(out), &sum); err != nil {
		t.Fatalf("summary %q: %v", out, err)
	}
	return sum.BytesAdded
}

func TestStdinRoundTripAndDedup(t *testing.T) {
	c := newCLI(t)
	c.OK("init")
	dump := streamFile(t, 6<<20)
	want, _ := os.ReadFile(dump)
	in, err := os.Open(dump)
	if err != nil {
		t.Fatal(err)
	}
	defer in.Close()
	cmd := c.Cmd("backup", "--json", "-q", "--stdin", "--stdin-filename", "db.sql")
	cmd.Stdin = in
	r := runCmd(t, cmd)
	if r.Code != 0 || backupAdded(t, r.Stdout) != uint64(len(want)) {
		t.Fatalf("backup --stdin: exit %d, %s%s", r.Code, r.Stdout, r.Stderr)
	}
	if out := c.OK("ls", "-l", "latest"); !strings.Contains(out, "-rw-------") || !strings.Contains(out, "/db.sql") {
		t.Fatalf("ls shows no /db.sql of mode 0600:\n%s", out)
	}
	target := t.TempDir()
	c.OK("restore", "latest", "--target", target)
	if got, err := os.ReadFile(filepath.Join(target, "db.sql")); err != nil || !bytes.Equal(got, want) {
		t.Fatalf("restored stream differs (%d bytes, want %d): %v", len(got), len(want), err)
	}
	// The same stream again, from a command: every chunk is already stored.
	if added := backupAdded(t, c.OK("backup", "--json", "-q", "--stdin-from-command", "--stdin-filename", "db.sql", "--", "cat", dump)); added != 0 {
		t.Fatalf("second identical stream added %d bytes, want 0", added)
	}
	if n := len(snapshotIDs(t, c)); n != 2 {
		t.Fatalf("%d snapshots, want 2", n)
	}
}

func TestStdinFromFailingCommandMakesNoSnapshot(t *testing.T) {
	c := newCLI(t)
	c.OK("init")
	r := c.Run("backup", "--stdin-from-command", "--", "sh", "-c", "head -c 3000000 /dev/zero; echo dump broke >&2; exit 3")
	if r.Code != exitFatal || !strings.Contains(r.Stderr, "dump broke") || !strings.Contains(r.Stderr, "command sh failed: exit status 3") {
		t.Fatalf("failing command: exit %d, stderr %q; want exit %d, its stderr and its status", r.Code, r.Stderr, exitFatal)
	}
	if ids := snapshotIDs(t, c); len(ids) != 0 {
		t.Fatalf("a failed command left snapshots %v", ids)
	}
	if r := c.Run("backup", "--stdin", "/etc"); r.Code != exitFatal || !strings.Contains(r.Stderr, "--stdin takes no paths") {
		t.Fatalf("--stdin with a path: exit %d, %s", r.Code, r.Stderr)
	}
	if r := c.Run("backup", "--stdin", "--files-from", "/dev/null"); r.Code != exitFatal || !strings.Contains(r.Stderr, "not --files-from") {
		t.Fatalf("--stdin with --files-from: exit %d, %s", r.Code, r.Stderr)
	}
	if r := c.Run("backup", "--stdin-from-command"); r.Code != exitFatal || !strings.Contains(r.Stderr, "needs a command") {
		t.Fatalf("--stdin-from-command without a command: exit %d, %s", r.Code, r.Stderr)
	}
}
