package main

import (
	"bufio"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/cairn-backup/cairn/backup/mount"
)

// mounted is a running `cairn mount`.
type mounted struct {
	t      *testing.T
	dir    string
	cmd    *exec.Cmd
	stderr *lockedBuffer
	done   chan struct{} // closed when cairn mount has exited; then err is set
	err    error
}

// lockedBuffer is a strings.Builder that exec's copying goroutine and the test share.
type lockedBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// startMount runs `cairn mount DIR` and waits until it serves. It skips the test
// only where FUSE is not there: no /dev/fuse, or mounting not permitted.
func startMount(t *testing.T, c *cli, args ...string) *mounted {
	t.Helper()
	if _, err := os.Stat("/dev/fuse"); err != nil {
		t.Skipf("no FUSE on this machine: %v", err)
	}
	m := &mounted{t: t, dir: t.TempDir(), stderr: &lockedBuffer{}, done: make(chan struct{})}
	m.cmd = c.Cmd(append([]string{"mount", m.dir}, args...)...)
	m.cmd.Stderr = m.stderr
	out, err := m.cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := m.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	ready := make(chan bool, 1)
	go func() {
		sc := bufio.NewScanner(out)
		served := false
		for sc.Scan() {
			if strings.HasPrefix(sc.Text(), "serving ") && !served {
				served = true
				ready <- true
			}
		}
		if !served {
			ready <- false
		}
		m.err = m.cmd.Wait()
		close(m.done)
	}()
	t.Cleanup(func() {
		select {
		case <-m.done:
		default:
			_ = m.cmd.Process.Signal(syscall.SIGTERM)
			<-m.done
		}
	})
	select {
	case ok := <-ready:
		if !ok {
			<-m.done
			if s := m.stderr.String(); strings.Contains(s, "operation not permitted") || strings.Contains(s, "permission denied") {
				t.Skipf("mounting is not permitted here: %s", s)
			}
			t.Fatalf("cairn mount did not serve: %v\n%s", m.err, m.stderr)
		}
	case <-time.After(60 * time.Second):
		t.Fatalf("cairn mount not serving after 60 s\n%s", m.stderr)
	}
	return m
}

// stop signals cairn mount and returns its exit code once it is gone.
func (m *mounted) stop(sig syscall.Signal) int {
	m.t.Helper()
	if err := m.cmd.Process.Signal(sig); err != nil {
		m.t.Fatal(err)
	}
	return m.wait()
}

func (m *mounted) wait() int {
	m.t.Helper()
	select {
	case <-m.done:
	case <-time.After(30 * time.Second):
		m.t.Fatalf("cairn mount still running 30 s after it was told to stop\n%s", m.stderr)
	}
	return m.cmd.ProcessState.ExitCode()
}

// isMounted reports whether dir is a mountpoint, by the kernel's mount table.
func isMounted(dir string) bool {
	data, err := os.ReadFile("/proc/self/mountinfo")
	if err != nil {
		return false
	}
	for _, line := range strings.Split(string(data), "\n") {
		if f := strings.Fields(line); len(f) > 4 && f[4] == dir {
			return true
		}
	}
	return false
}

// fullState describes every entry below root: type and permission bits, owner,
// mtime to the nanosecond, size, symlink target and content hash.
func fullState(t *testing.T, root string) map[string]string {
	t.Helper()
	out := map[string]string{}
	err := filepath.Walk(root, func(p string, fi os.FileInfo, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, p)
		if rel == "." {
			return nil
		}
		st := fi.Sys().(*syscall.Stat_t)
		desc := fmt.Sprintf("%v %d:%d", fi.Mode(), st.Uid, st.Gid)
		if !fi.IsDir() { // a directory's mtime changes as restore fills it
			desc += fmt.Sprintf(" %d", fi.ModTime().UnixNano())
		}
		switch {
		case fi.Mode()&os.ModeSymlink != 0:
			target, err := os.Readlink(p)
			if err != nil {
				return err
			}
			desc += " -> " + target
		case fi.Mode().IsRegular():
			f, err := os.Open(p)
			if err != nil {
				return err
			}
			h := sha256.New()
			n, err := io.Copy(h, f)
			f.Close()
			if err != nil {
				return fmt.Errorf("read %s: %w", rel, err)
			}
			desc += fmt.Sprintf(" %d/%d %x", n, fi.Size(), h.Sum(nil))
		}
		out[rel] = desc
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// mountSource makes a tree with what a mount must show: nested directories, an
// empty file, a file of many chunks (read through chunk lists), odd modes, an owner
// other than root's, a symlink, a FIFO.
func mountSource(t *testing.T, src string) {
	t.Helper()
	writeFiles(t, src, map[string]string{"a.txt": "alpha\n", "d/e/deep.txt": "deep\n", "d/empty": ""})
	bigRandomFiles(t, filepath.Join(src, "big"), 1, 24<<20, 7)
	must(t, os.Chmod(filepath.Join(src, "a.txt"), 0o600))
	must(t, os.Chmod(filepath.Join(src, "d/e"), 0o710))
	must(t, os.Symlink("../a.txt", filepath.Join(src, "d/link")))
	must(t, syscall.Mkfifo(filepath.Join(src, "d/fifo"), 0o640))
	if os.Geteuid() == 0 {
		must(t, os.Lchown(filepath.Join(src, "d/e/deep.txt"), 1234, 5678))
	}
	old := time.Date(2021, 3, 4, 5, 6, 7, 891011121, time.UTC)
	must(t, os.Chtimes(filepath.Join(src, "d/e/deep.txt"), old, old))
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// A file read through the mount equals the same file restored, byte for byte, with
// the same mode, owner, mtime and symlink target, for an older snapshot as well as
// the newest; the top directories follow restic's layout; SIGTERM unmounts and exits 0.
func TestMountEqualsRestore(t *testing.T) {
	c := newCLI(t)
	src := filepath.Join(t.TempDir(), "src")
	mountSource(t, src)
	c.OK("init")
	// Times a minute apart: two snapshots in one second get "-1" names (checked by
	// the layout's own test), which this test's expected layout does not model.
	c.OK("backup", "--tag", "first", "--time", "2026-01-02 03:00:00", src)
	writeFiles(t, src, map[string]string{"a.txt": "changed\n", "new.txt": "new\n"})
	c.OK("backup", "--time", "2026-01-02 03:01:00", src)
	var snaps []snapshotJSON
	must(t, json.Unmarshal([]byte(c.OK("snapshots", "--json")), &snaps))
	if len(snaps) != 2 {
		t.Fatalf("%d snapshots, want 2", len(snaps))
	}

	m := startMount(t, c, "--cache-size", "4")
	for _, s := range snaps {
		target := t.TempDir()
		c.OK("restore", s.ID, "--target", target)
		want := fullState(t, filepath.Join(target, src))
		got := fullState(t, filepath.Join(m.dir, "ids", s.Short, src))
		sameState(t, want, got)
	}
	checkLayout(t, m.dir, snaps)
	if s := m.stderr.String(); s != "" {
		t.Errorf("cairn mount complained while serving reads:\n%s", s)
	}
	if err := os.WriteFile(filepath.Join(m.dir, "ids", snaps[0].Short, src, "x"), nil, 0o644); err == nil {
		t.Error("a file was created in the mount")
	}
	if code := m.stop(syscall.SIGTERM); code != 0 {
		t.Fatalf("cairn mount: exit %d after SIGTERM, want 0\n%s", code, m.stderr)
	}
	if isMounted(m.dir) {
		t.Fatalf("%s still mounted after cairn mount exited", m.dir)
	}
}

// checkLayout checks the directories above the snapshots: ids, snapshots and hosts
// with "latest" links to the newest, tags.
func checkLayout(t *testing.T, dir string, snaps []snapshotJSON) {
	t.Helper()
	names := func(sub string) []string {
		es, err := os.ReadDir(filepath.Join(dir, sub))
		must(t, err)
		var out []string
		for _, e := range es {
			out = append(out, e.Name())
		}
		return out
	}
	older, newer := snaps[0].Time.Local().Format(mount.TimeFormat), snaps[1].Time.Local().Format(mount.TimeFormat)
	host := snaps[0].Host
	for sub, want := range map[string][]string{
		".":                  {"hosts", "ids", "snapshots", "tags"},
		"ids":                {snaps[0].Short, snaps[1].Short},
		"snapshots":          {older, newer, "latest"},
		"hosts":              {host},
		"hosts/" + host:      {older, newer, "latest"},
		"tags":               {"first"},
		"tags/first":         {older, "latest"},
		"snapshots/" + older: {strings.Split(strings.Trim(snaps[0].Paths[0], "/"), "/")[0]},
	} {
		got, w := names(sub), slices.Clone(want)
		slices.Sort(got)
		slices.Sort(w)
		if !slices.Equal(got, w) {
			t.Errorf("%s holds %q, want %q", sub, got, w)
		}
	}
	for link, want := range map[string]string{"snapshots/latest": newer, "hosts/" + host + "/latest": newer, "tags/first/latest": older} {
		if got, err := os.Readlink(filepath.Join(dir, link)); err != nil || got != want {
			t.Errorf("%s -> %q (%v), want %q", link, got, err, want)
		}
	}
	if _, err := os.Stat(filepath.Join(dir, "snapshots/latest", snaps[1].Paths[0], "new.txt")); err != nil {
		t.Errorf("snapshots/latest does not lead to the newest snapshot: %v", err)
	}
}

// `fusermount -u` from outside ends cairn mount with exit 0.
func TestMountEndsOnFusermount(t *testing.T) {
	c := newCLI(t)
	src := filepath.Join(t.TempDir(), "src")
	writeFiles(t, src, map[string]string{"a": "a"})
	c.OK("init")
	c.OK("backup", src)
	m := startMount(t, c)
	bin, err := exec.LookPath("fusermount3")
	if err != nil {
		if bin, err = exec.LookPath("fusermount"); err != nil {
			t.Skip("fusermount is not installed (scripts/fuse install)")
		}
	}
	if out, err := exec.Command(bin, "-u", m.dir).CombinedOutput(); err != nil {
		t.Fatalf("fusermount -u: %v\n%s", err, out)
	}
	if code := m.wait(); code != 0 {
		t.Fatalf("cairn mount: exit %d after fusermount -u, want 0\n%s", code, m.stderr)
	}
	if isMounted(m.dir) {
		t.Fatalf("%s still mounted", m.dir)
	}
}

// A mountpoint kept busy (a file open in it) when cairn mount is told to stop: cairn
// retries, then exits 1 naming the lazy unmount, rather than hanging or claiming success.
func TestMountBusyOnStop(t *testing.T) {
	c := newCLI(t)
	src := filepath.Join(t.TempDir(), "src")
	writeFiles(t, src, map[string]string{"a": "a"})
	c.OK("init")
	c.OK("backup", src)
	m := startMount(t, c)
	f, err := os.Open(filepath.Join(m.dir, "snapshots/latest", src, "a"))
	must(t, err)
	code := m.stop(syscall.SIGINT)
	f.Close()
	if isMounted(m.dir) { // the server is gone; what is left is the kernel's entry
		_ = syscall.Unmount(m.dir, syscall.MNT_DETACH)
	}
	if code != exitFatal || !strings.Contains(m.stderr.String(), "mountpoint busy") || !strings.Contains(m.stderr.String(), "fusermount -u -z") {
		t.Fatalf("stop of a busy mount: exit %d, stderr %q; want %d, busy, fusermount -u -z", code, m.stderr, exitFatal)
	}
}

// A file whose data packs are gone fails its reads with EIO and is named on stderr;
// the directories (their tree packs cached) still list, and the mount keeps serving.
func TestMountMissingDataIsEIO(t *testing.T) {
	c := newCLI(t)
	src := filepath.Join(t.TempDir(), "src")
	writeFiles(t, src, map[string]string{"a": "alpha", "b": "beta"})
	c.OK("init")
	c.OK("backup", src)
	c.OK("ls", "latest") // the tree packs are now in the cache
	cached := map[string]bool{}
	var cacheHome string
	for _, kv := range c.Env {
		if v, ok := strings.CutPrefix(kv, "XDG_CACHE_HOME="); ok {
			cacheHome = v
		}
	}
	packs, _ := filepath.Glob(filepath.Join(cacheHome, "cairn", "*", "packs", "*"))
	for _, p := range packs {
		cached[filepath.Base(p)] = true
	}
	data, _ := filepath.Glob(filepath.Join(c.Repo, "data", "*", "*"))
	removed := 0
	for _, p := range data {
		if !cached[filepath.Base(p)] {
			must(t, os.Remove(p))
			removed++
		}
	}
	if len(cached) == 0 || removed == 0 {
		t.Fatalf("%d packs cached, %d removed: want tree packs cached and data packs removed", len(cached), removed)
	}
	m := startMount(t, c)
	dir := filepath.Join(m.dir, "snapshots/latest", src)
	if names := fullNames(t, dir); !slices.Equal(names, []string{"a", "b"}) {
		t.Fatalf("listing without data packs: %q", names)
	}
	_, err := os.ReadFile(filepath.Join(dir, "a"))
	if !errors.Is(err, syscall.EIO) {
		t.Fatalf("read of a file whose data is gone: %v, want EIO", err)
	}
	named := func() bool {
		s := m.stderr.String()
		return strings.Contains(s, "cairn: mount: read ") && strings.Contains(s, "/a")
	}
	for i := 0; i < 50 && !named(); i++ { // stderr reaches the test through a pipe
		time.Sleep(100 * time.Millisecond)
	}
	if !named() {
		t.Errorf("stderr does not name the file that failed: %q", m.stderr)
	}
	if code := m.stop(syscall.SIGTERM); code != 0 {
		t.Fatalf("exit %d after SIGTERM, want 0", code)
	}
}

func fullNames(t *testing.T, dir string) []string {
	t.Helper()
	es, err := os.ReadDir(dir)
	must(t, err)
	var out []string
	for _, e := range es {
		out = append(out, e.Name())
	}
	return out
}
