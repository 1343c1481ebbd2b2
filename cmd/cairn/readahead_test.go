package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"
)

// The source is read ahead while the repository opens; when the open fails (no
// repository, wrong password), the read-ahead is stopped before the command returns:
// none of its goroutines goes on reading.
func TestBackupOpenFailureStopsReadAhead(t *testing.T) {
	home := t.TempDir()
	t.Setenv("XDG_STATE_HOME", filepath.Join(home, "state"))
	t.Setenv("XDG_CACHE_HOME", filepath.Join(home, "cache"))
	t.Setenv("CAIRN_PASSWORD", "right")
	// More than the read-ahead holds (long names take room): with no walk to take
	// its listings, it waits for room until it is stopped.
	src := filepath.Join(home, "src")
	long := strings.Repeat("x", 240)
	for d := range 30 {
		dir := filepath.Join(src, fmt.Sprintf("d%02d", d))
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		for f := range 1000 {
			if err := os.WriteFile(filepath.Join(dir, fmt.Sprintf("%03d%s", f, long)), nil, 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
	made := time.Now()
	repoDir := filepath.Join(home, "repo")
	if err := execute("init", "--repo", repoDir); err != nil {
		t.Fatal(err)
	}
	// Directories changed just before they are read ahead are not held.
	time.Sleep(time.Until(made.Add(2100 * time.Millisecond)))
	cases := map[string]struct{ repo, password string }{
		"no repository":  {filepath.Join(home, "none"), "right"},
		"wrong password": {repoDir, "wrong"},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			t.Setenv("CAIRN_PASSWORD", c.password)
			if err := execute("backup", "--repo", c.repo, src); err == nil {
				t.Fatal("backup succeeded")
			}
			if n := goroutinesIn("archive.(*ReadAhead)", "archive.startReadAhead"); n != 0 {
				t.Errorf("%d goroutines of the read-ahead left after the backup failed", n)
			}
		})
	}
}

// execute runs one cairn command in this process, its output discarded.
func execute(args ...string) error {
	root := newRootCmd()
	root.SetArgs(args)
	root.SetOut(io.Discard)
	root.SetErr(io.Discard)
	return root.ExecuteContext(context.Background())
}

// goroutinesIn counts the goroutines with a frame whose name holds one of fns.
func goroutinesIn(fns ...string) int {
	buf := make([]byte, 4<<20)
	buf = buf[:runtime.Stack(buf, true)]
	n := 0
	for _, g := range strings.Split(string(buf), "\n\n") {
		for _, fn := range fns {
			if strings.Contains(g, fn) {
				n++
				break
			}
		}
	}
	return n
}
