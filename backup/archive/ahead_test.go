package archive

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"
)

// writeDirs makes dirs directories of files small files each, under dir/a/…: many
// directories, as the read-ahead is for.
func writeDirs(t *testing.T, dir string, dirs, files int) {
	t.Helper()
	for d := range dirs {
		sub := filepath.Join(dir, fmt.Sprintf("a%02d", d%7), fmt.Sprintf("d%03d", d))
		must(t, os.MkdirAll(sub, 0o755))
		for f := range files {
			must(t, os.WriteFile(filepath.Join(sub, fmt.Sprintf("f%03d", f)), []byte(sub[len(dir):]), 0o644))
		}
	}
}

// countDirs counts the directories of the tree at root, root included.
func countDirs(t *testing.T, root string) int {
	t.Helper()
	n := 0
	must(t, filepath.WalkDir(root, func(_ string, d fs.DirEntry, err error) error {
		if err == nil && d.IsDir() {
			n++
		}
		return err
	}))
	return n
}

// finished waits for the read-ahead to have read all it will, short of Stop.
func (a *ReadAhead) finished(t *testing.T) {
	t.Helper()
	if err := a.g.Wait(); err != nil {
		t.Fatal(err)
	}
}

// A backup takes every listing read ahead while the repository opened, once, and
// makes the snapshot a backup without read-ahead makes.
func TestReadAheadListingsTaken(t *testing.T) {
	e := newEnv(t)
	src := filepath.Join(t.TempDir(), "src")
	writeTree(t, src, 11)
	writeDirs(t, src, 30, 5)
	without, _ := e.backup(Options{Paths: []string{src}, Force: true})

	opts := Options{Paths: []string{src}, Force: true}
	opts.ReadAhead = StartReadAhead(context.Background(), opts)
	defer opts.ReadAhead.Stop()
	opts.ReadAhead.finished(t) // as if the open took long: all is read before the walk
	with, _ := e.backup(opts)

	c := opts.ReadAhead.cache
	if want := countDirs(t, src); c.taken != want {
		t.Errorf("the walk took %d listings read ahead, want all %d directories", c.taken, want)
	}
	if c.left != 0 {
		t.Errorf("%d listings read ahead were never taken, want none", c.left)
	}
	if with.Root != without.Root || with.Stats.Files != without.Stats.Files {
		t.Errorf("root %s with read-ahead, %s without", with.Root.Short(), without.Root.Short())
	}
}

// The read-ahead follows the walk's rules: what the walk leaves out gives the same
// snapshot, and the listings of directories it leaves out are not held for nobody.
func TestReadAheadSameSnapshotWithRules(t *testing.T) {
	e := newEnv(t)
	src := filepath.Join(t.TempDir(), "src")
	writeTree(t, src, 12)
	writeDirs(t, filepath.Join(src, "skipdir"), 5, 2)
	writeDirs(t, filepath.Join(src, "cache"), 5, 2)
	writeDirs(t, filepath.Join(src, "marked"), 5, 2)
	must(t, os.WriteFile(filepath.Join(src, "cache", cacheTagName), []byte(cacheTagSignature), 0o644))
	must(t, os.WriteFile(filepath.Join(src, "marked", ".nobackup"), nil, 0o644))
	must(t, os.WriteFile(filepath.Join(src, "big.log"), make([]byte, 4096), 0o644))
	base := Options{Paths: []string{src}, Excludes: []string{"*.log", src + "/skipdir"}, ExcludeCaches: true,
		ExcludeIfPresent: []string{".nobackup"}, ExcludeLargerThan: 1 << 20}
	without, _ := e.backup(base)

	for _, force := range []bool{false, true} {
		opts := base
		opts.Force = force
		opts.ReadAhead = StartReadAhead(context.Background(), opts)
		opts.ReadAhead.finished(t)
		with, _ := e.backup(opts)
		c := opts.ReadAhead.cache
		if with.Root != without.Root || with.Stats.Files != without.Stats.Files {
			t.Errorf("force %v: root %s with read-ahead, %s without", force, with.Root.Short(), without.Root.Short())
		}
		// src, its four dirs (sub, sub/deep, other, emptydir) and the tagged cache dir
		// (the walk lists it for its tag): nothing under skipdir, marked or cache.
		if c.taken != 6 || c.left != 0 {
			t.Errorf("force %v: %d listings taken, %d left; want 6 taken, none left", force, c.taken, c.left)
		}
		opts.ReadAhead.Stop()
	}
}

// The read-ahead never holds more than its cap: it waits while the cache is full, and
// goes on as the walk takes listings; a directory bigger than the cap is left to
// the walk. The snapshot is the same.
func TestReadAheadBounded(t *testing.T) {
	e := newEnv(t)
	src := filepath.Join(t.TempDir(), "src")
	writeDirs(t, src, 120, 20)
	writeDirs(t, filepath.Join(src, "huge"), 1, 600)
	without, _ := e.backup(Options{Paths: []string{src}})

	const limit = 16 << 10 // about seven directories of twenty files
	opts := Options{Paths: []string{src}}
	opts.ReadAhead = startReadAhead(context.Background(), opts, limit)
	defer opts.ReadAhead.Stop()
	c := opts.ReadAhead.cache
	waitFull(t, c)
	with, _ := e.backup(opts)

	if c.peak > limit {
		t.Errorf("held %d bytes at most, over the cap of %d", c.peak, limit)
	}
	t.Logf("took %d listings, %d bytes, peak %d", c.taken, c.tookB, c.peak)
	if c.tookB <= limit {
		t.Errorf("the walk took %d listings, %d bytes: no more than the cache holds at once", c.taken, c.tookB)
	}
	if with.Root != without.Root {
		t.Errorf("root %s with read-ahead, %s without", with.Root.Short(), without.Root.Short())
	}
}

// waitFull waits until the read-ahead has filled its cache as far as it can.
func waitFull(t *testing.T, c *aheadCache) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); ; {
		c.mu.Lock()
		held := c.held
		c.mu.Unlock()
		if held > c.max/2 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("read-ahead holds %d bytes after 10s, want its cache full", held)
		}
		time.Sleep(time.Millisecond)
	}
}

// Stop ends a read-ahead that waits for room (as when the open fails and no walk will
// ever take a listing): it returns, no goroutine of it is left, nothing is held.
func TestReadAheadStopLeavesNothing(t *testing.T) {
	src := filepath.Join(t.TempDir(), "src")
	writeDirs(t, src, 60, 20)
	a := startReadAhead(context.Background(), Options{Paths: []string{src}}, 8<<10)
	waitFull(t, a.cache)
	if n := readAheadGoroutines(); n == 0 {
		t.Fatal("no read-ahead goroutine waits on its full cache")
	}
	stopped := make(chan struct{})
	go func() { a.Stop(); close(stopped) }()
	select {
	case <-stopped:
	case <-time.After(10 * time.Second):
		t.Fatal("Stop did not return while the read-ahead waited for room")
	}
	if n := readAheadGoroutines(); n != 0 {
		t.Errorf("%d read-ahead goroutines left after Stop", n)
	}
	if _, ok := a.take(src); ok || a.cache.held != 0 {
		t.Errorf("a listing is still held after Stop (%d bytes)", a.cache.held)
	}
	a.Stop() // twice is fine
}

// readAheadGoroutines counts the goroutines running the read-ahead.
func readAheadGoroutines() int {
	buf := make([]byte, 1<<20)
	buf = buf[:runtime.Stack(buf, true)]
	n := 0
	for _, g := range strings.Split(string(buf), "\n\n") {
		if strings.Contains(g, "(*ReadAhead).dir") {
			n++
		}
	}
	return n
}

// A file removed after the read-ahead described it, before the walk reaches it, is
// reported once as gone and left out, as when it vanishes after its listing.
func TestReadAheadVanishedFile(t *testing.T) {
	e := newEnv(t)
	src := filepath.Join(t.TempDir(), "src")
	writeTree(t, src, 13)
	opts := Options{Paths: []string{src}, Host: "test-host"}
	opts.ReadAhead = StartReadAhead(context.Background(), opts)
	defer opts.ReadAhead.Stop()
	opts.ReadAhead.finished(t)
	gone := filepath.Join(src, "sub", "deep", "c.txt")
	must(t, os.Remove(gone))

	res, err := Run(context.Background(), e.open(), opts)
	if !errors.Is(err, ErrPartial) || res == nil {
		t.Fatalf("backup: %v, want a snapshot with one unreadable file", err)
	}
	if len(res.Unreadable) != 1 || res.Unreadable[0].Path != gone || !errors.Is(res.Unreadable[0].Err, fs.ErrNotExist) {
		t.Errorf("vanished file reported as %v, want once as not existing", res.Unreadable)
	}
	if opts.ReadAhead.cache.taken == 0 {
		t.Error("the walk took no listing read ahead")
	}
}

// Paths beneath another path given are read ahead once, from the outer one.
func TestOutermostPaths(t *testing.T) {
	got := outermost([]string{"/", "/a"})
	if strings.Join(got, " ") != "/" {
		t.Errorf("outermost of / and /a: %q", got)
	}
	got = outermost([]string{"/a", "/a-b", "/a-b/c", "/a/b", "/a/b/c", "/ab"})
	if strings.Join(got, " ") != "/a /a-b /ab" {
		t.Errorf("outermost: %q, want /a /a-b /ab", got)
	}
}
