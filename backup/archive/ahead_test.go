package archive

import (
	"context"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/cairn-backup/cairn/internal/fsys"
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

// readAhead starts a read-ahead that holds directories however recently changed: the
// tests make their trees just before.
func readAhead(opts Options) *ReadAhead {
	return startReadAhead(context.Background(), opts, aheadBytes, 0)
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
	opts.ReadAhead = readAhead(opts)
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
		opts.ReadAhead = readAhead(opts)
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
	opts.ReadAhead = startReadAhead(context.Background(), opts, limit, 0)
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
	a := startReadAhead(context.Background(), Options{Paths: []string{src}}, 8<<10, 0)
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
	if _, ok := a.cache.take(src); ok || a.cache.held != 0 {
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
		if strings.Contains(g, "(*ReadAhead).dir") || strings.Contains(g, "archive.startReadAhead") {
			n++
		}
	}
	return n
}

// A directory changed after it was read ahead is read again by the walk: an entry
// removed, added or renamed since is seen as without the read-ahead, and so is a
// directory gone since. The snapshot is the one a backup without it makes then.
func TestReadAheadChangedDirReadAgain(t *testing.T) {
	cases := map[string]func(src string){
		"file removed": func(src string) { must(t, os.Remove(filepath.Join(src, "sub", "deep", "c.txt"))) },
		"file added":   func(src string) { must(t, os.WriteFile(filepath.Join(src, "sub", "new"), nil, 0o644)) },
		"file renamed": func(src string) { must(t, os.Rename(filepath.Join(src, "a.txt"), filepath.Join(src, "b.txt"))) },
		"dir removed":  func(src string) { must(t, os.RemoveAll(filepath.Join(src, "sub", "deep"))) },
	}
	for name, change := range cases {
		t.Run(name, func(t *testing.T) {
			e := newEnv(t)
			src := filepath.Join(t.TempDir(), "src")
			writeTree(t, src, 13)
			time.Sleep(60 * time.Millisecond) // older than the racy window below
			opts := Options{Paths: []string{src}}
			opts.ReadAhead = startReadAhead(context.Background(), opts, aheadBytes, 50*time.Millisecond)
			defer opts.ReadAhead.Stop()
			opts.ReadAhead.finished(t)
			change(src)

			with, _ := e.backup(opts)
			without, _ := e.backup(Options{Paths: []string{src}, Force: true})
			if with.Root != without.Root || len(with.Unreadable) != 0 {
				t.Errorf("root %s with read-ahead, %s without; unreadable %v", with.Root.Short(), without.Root.Short(), with.Unreadable)
			}
			if c := opts.ReadAhead.cache; c.stales == 0 || c.stales == c.taken {
				t.Errorf("%d of %d listings taken found stale, want the changed directory's only", c.stales, c.taken)
			}
		})
	}
}

// A directory changed just before it was read ahead is not held: a change just after
// could leave it with the same times. The walk reads it, and the snapshot is the same.
func TestReadAheadRacyDirNotHeld(t *testing.T) {
	e := newEnv(t)
	src := filepath.Join(t.TempDir(), "src")
	writeTree(t, src, 14)
	without, _ := e.backup(Options{Paths: []string{src}, Force: true})
	opts := Options{Paths: []string{src}, Force: true}
	opts.ReadAhead = StartReadAhead(context.Background(), opts)
	defer opts.ReadAhead.Stop()
	opts.ReadAhead.finished(t)
	with, _ := e.backup(opts)
	if c := opts.ReadAhead.cache; c.peak != 0 || c.taken != 0 {
		t.Errorf("read-ahead held %d bytes of directories changed just before", c.peak)
	}
	if with.Root != without.Root {
		t.Errorf("root %s with read-ahead, %s without", with.Root.Short(), without.Root.Short())
	}
}

// A listing of a directory the walk has passed is not held (nobody would take it),
// and a read-ahead that far behind the walk stops holding anything.
func TestAheadCachePassedAndBehind(t *testing.T) {
	ctx := context.Background()
	c := newAheadCache(1 << 20)
	l := listing{names: []string{"x"}, infos: make([]fsys.Info, 1)}
	if _, ok := c.take("/a"); ok {
		t.Fatal("took a listing never held")
	}
	if c.wanted("/a") || c.put(ctx, "/a", l) || len(c.dirs) != 0 {
		t.Error("the listing of a directory the walk passed is held")
	}
	if !c.put(ctx, "/b", l) || c.put(ctx, "/b", l) || c.held != l.cost("/b") {
		t.Errorf("a listing put twice is held as %d bytes, want once %d", c.held, l.cost("/b"))
	}
	if got, ok := c.take("/b"); !ok || got.names[0] != "x" || c.held != 0 {
		t.Error("the listing held is not taken whole")
	}
	for i := range maxPassed + 1 {
		c.take(fmt.Sprint("/miss", i))
	}
	if c.wanted("/c") || c.put(ctx, "/c", l) || len(c.passed) != 0 {
		t.Error("a read-ahead far behind the walk still holds listings")
	}
}
