package main

import (
	"bytes"
	"encoding/json"

	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

func TestBackupSnapshotsLsDiff(t *testing.T) {
	c := newCLI(t)
	c.OK("init")
	src := filepath.Join(t.TempDir(), "src")
	writeFiles(t, src, map[string]string{"a": "alpha", "d/b": "beta", "d/c": "gamma"})
	var first backupSummary
	if err := json.Unmarshal([]byte(c.OK("backup", "--json", "-q", "--tag", "nightly", src)), &first); err != nil {
		t.Fatal(err)
	}
	if first.FilesNew != 3 || first.Snapshot == "" {
		t.Fatalf("first backup summary %+v", first)
	}
	writeFiles(t, src, map[string]string{"d/b": "beta, edited", "e": "new"})
	if err := os.Remove(filepath.Join(src, "a")); err != nil {
		t.Fatal(err)
	}
	out := c.OK("backup", src)
	if !strings.Contains(out, "1 new, 1 changed, 1 unchanged") {
		t.Fatalf("second backup summary:\n%s", out)
	}
	snaps := c.OK("snapshots", "--tag", "nightly")
	if !strings.Contains(snaps, first.Snapshot[:8]) || !strings.Contains(snaps, "1 snapshot\n") {
		t.Fatalf("snapshots --tag nightly:\n%s", snaps)
	}
	ls := c.OK("ls", "latest", src) // PATH and one level under it, as restic
	for _, want := range []string{src + "\n", src + "/d\n", src + "/e\n"} {
		if !strings.Contains(ls, want) {
			t.Fatalf("ls lacks %s:\n%s", want, ls)
		}
	}
	if strings.Contains(ls, src+"/d/b") {
		t.Fatalf("ls without --recursive went two levels down:\n%s", ls)
	}
	if ls := c.OK("ls", "latest", src, "--recursive"); !strings.Contains(ls, src+"/d/b\n") {
		t.Fatalf("ls --recursive lacks %s/d/b:\n%s", src, ls)
	}
	diff := c.OK("diff", first.Snapshot[:10], "latest")
	for _, want := range []string{"-  " + src + "/a", "+  " + src + "/e", "M  " + src + "/d/b"} {
		if !strings.Contains(diff, want) {
			t.Fatalf("diff lacks %q:\n%s", want, diff)
		}
	}
	if strings.Contains(diff, src+"/d/c") {
		t.Fatalf("diff lists an unchanged file:\n%s", diff)
	}
}

// TestUnreadableFileExit3 runs cairn as an unprivileged user, because root reads
// everything (and CI runs as root).
func TestUnreadableFileExit3(t *testing.T) {
	c := newCLI(t)
	c.OK("init")
	src := filepath.Join(t.TempDir(), "src")
	writeFiles(t, src, map[string]string{"ok": "readable", "secret": "no", "d/x": "x"})
	if err := os.Chmod(filepath.Join(src, "secret"), 0); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(filepath.Join(src, "d"), 0o311); err != nil { // listable? no: unreadable dir
		t.Fatal(err)
	}
	cmd := c.Cmd("backup", src)
	if os.Geteuid() == 0 {
		asNobody(t, cmd, c)
	}
	r := runCmd(t, cmd)
	if r.Code != exitPartial {
		t.Fatalf("exit %d, want %d\n%s%s", r.Code, exitPartial, r.Stdout, r.Stderr)
	}
	for _, want := range []string{src + "/secret", src + "/d"} {
		if !strings.Contains(r.Stderr, "unreadable: "+want+":") {
			t.Errorf("stderr does not list %s:\n%s", want, r.Stderr)
		}
	}
	if !strings.Contains(r.Stdout, "snapshot ") {
		t.Fatalf("no snapshot made:\n%s", r.Stdout)
	}
	// The unreadable file is not counted as backed up: one file (ok), 8 bytes.
	if !strings.Contains(r.Stdout, "Files:      1 new,") || !strings.Contains(r.Stdout, "of 8 B,") {
		t.Errorf("summary counts the unreadable file:\n%s", r.Stdout)
	}
}

// asNobody makes cmd run as uid/gid 65534 with everything it needs owned by it.
func asNobody(t *testing.T, cmd *exec.Cmd, c *cli) {
	t.Helper()
	home := filepath.Dir(c.Repo)
	for _, dir := range []string{home, filepath.Dir(home)} {
		if err := os.Chmod(dir, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	err := filepath.Walk(home, func(p string, _ os.FileInfo, err error) error {
		if err != nil {
			return err
		}
		return os.Lchown(p, 65534, 65534)
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(filepath.Dir(cairnBin), 0o755); err != nil {
		t.Fatal(err)
	}
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: 65534, Gid: 65534}}
	cmd.Env = append(cmd.Env, "HOME="+home)
}

func TestInterruptMakesNoSnapshot(t *testing.T) {
	c := newCLI(t)
	c.OK("init")
	src := filepath.Join(t.TempDir(), "src")
	bigRandomFiles(t, src, 40, 4<<20, 7)
	cmd := c.Cmd("backup", "--compression", "max", src)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	// Interrupt once the first pack is stored: mid-run, whatever the machine's speed.
	waitForPack(t, c.Repo)
	if err := cmd.Process.Signal(os.Interrupt); err != nil {
		t.Fatal(err)
	}
	err := cmd.Wait()
	ee, ok := err.(*exec.ExitError)
	if !ok || ee.ExitCode() != exitInterrupted {
		t.Fatalf("interrupted backup: %v, want exit %d", err, exitInterrupted)
	}
	if !strings.Contains(stderr.String(), "cairn: interrupted") {
		t.Fatalf("interrupted backup said %q", stderr.String())
	}
	if out := c.OK("snapshots"); !strings.Contains(out, "0 snapshots") {
		t.Fatalf("an interrupted backup left a snapshot:\n%s", out)
	}
}

// waitForPack waits until the local repository holds a data pack.
func waitForPack(t *testing.T, repo string) {
	t.Helper()
	for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(5 * time.Millisecond) {
		if packs, _ := filepath.Glob(filepath.Join(repo, "data", "*", "*")); len(packs) > 0 {
			return
		}
	}
	t.Fatal("no pack stored within 30 s")
}

// --files-from adds the paths a file lists (comments and blank lines skipped) to the
// arguments, as restic's does; with neither, backup refuses to run.
func TestBackupFilesFrom(t *testing.T) {
	c := newCLI(t)
	c.OK("init")
	dir := t.TempDir()
	writeFiles(t, dir, map[string]string{"a/x": "x", "b/y": "y", "c/z": "z", " spaced/w": "w"})
	list := filepath.Join(t.TempDir(), "list")
	verbatim := filepath.Join(t.TempDir(), "verbatim")
	if err := os.WriteFile(list, []byte("# what to keep\n"+dir+"/a\n\n  "+dir+"/b  \n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(verbatim, []byte(dir+"/ spaced\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	c.OK("backup", "--files-from", list, "--files-from-verbatim", verbatim, dir+"/c")
	out := c.OK("ls", "latest")
	for _, want := range []string{dir + "/a/x", dir + "/b/y", dir + "/c/z", dir + "/ spaced/w"} {
		if !strings.Contains(out, want+"\n") {
			t.Errorf("ls does not show %s:\n%s", want, out)
		}
	}
	if r := c.Run("backup"); r.Code != exitFatal || !strings.Contains(r.Stderr, "nothing to back up") {
		t.Fatalf("backup without paths: exit %d, %s", r.Code, r.Stderr)
	}
}

// diff tells content changes (M) from metadata-only ones (U), and marks directories
// with a trailing "/", as restic does.
func TestDiffMetadataOnly(t *testing.T) {
	c := newCLI(t)
	c.OK("init")
	src := filepath.Join(t.TempDir(), "src")
	writeFiles(t, src, map[string]string{"mode": "m", "content": "one", "d/x": "x"})
	c.OK("backup", src)
	first := strings.Fields(strings.Split(c.OK("snapshots"), "\n")[1])[0]
	must := func(err error) {
		if err != nil {
			t.Fatal(err)
		}
	}
	must(os.Chmod(filepath.Join(src, "mode"), 0o600))
	must(os.Chmod(filepath.Join(src, "d"), 0o700))
	st, err := os.Stat(filepath.Join(src, "content"))
	must(err)
	must(os.WriteFile(filepath.Join(src, "content"), []byte("two"), 0o644)) // same size
	must(os.Chtimes(filepath.Join(src, "content"), st.ModTime(), st.ModTime()))
	c.OK("backup", src)
	out := c.OK("diff", first, "latest")
	for _, want := range []string{"U  " + src + "/mode\n", "U  " + src + "/d/\n", "M  " + src + "/content\n"} {
		if !strings.Contains(out, want) {
			t.Errorf("diff lacks %q:\n%s", want, out)
		}
	}
	if !strings.Contains(out, "1 modified, 2 with only metadata changed") {
		t.Errorf("diff summary:\n%s", out)
	}
}

// --time sets the snapshot's time, as restic's: "2006-01-02 15:04:05" in local time
// (TZ), or RFC 3339 with its own offset; anything else is refused with no snapshot.
func TestBackupTime(t *testing.T) {
	c := newCLI(t)
	c.Env = append(c.Env, "TZ=Europe/Berlin")
	c.OK("init")
	src := filepath.Join(t.TempDir(), "src")
	writeFiles(t, src, map[string]string{"a": "alpha"})
	berlin, err := time.LoadLocation("Europe/Berlin")
	if err != nil {
		t.Skip("no time zone data:", err)
	}
	want := []time.Time{
		time.Date(2026, 1, 1, 3, 0, 0, 0, berlin), // winter, +01:00
		time.Date(2026, 1, 3, 3, 0, 0, 0, time.FixedZone("", -5*3600)),
		time.Date(2026, 7, 1, 3, 0, 0, 0, berlin), // summer, +02:00
	}
	c.OK("backup", "-q", "--time", "2026-01-01 03:00:00", src)
	c.OK("backup", "-q", "--time", "2026-01-03T03:00:00-05:00", src)
	c.OK("backup", "-q", "--time", "2026-07-01 03:00:00", src)
	for _, bad := range []string{"yesterday", "2026-01-01", "2026-13-01 03:00:00"} {
		if r := c.Run("backup", "-q", "--time", bad, src); r.Code != exitFatal || !strings.Contains(r.Stderr, "--time") {
			t.Errorf("--time %q: exit %d, %s", bad, r.Code, r.Stderr)
		}
	}
	var snaps []snapshotJSON
	if err := json.Unmarshal([]byte(c.OK("snapshots", "--json")), &snaps); err != nil {
		t.Fatal(err)
	}
	if len(snaps) != len(want) {
		t.Fatalf("%d snapshots, want %d", len(snaps), len(want))
	}
	for i, s := range snaps {
		if !s.Time.Equal(want[i]) {
			t.Errorf("snapshot %d: time %s, want %s", i, s.Time, want[i])
		}
	}
}
