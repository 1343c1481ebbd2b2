package archive

import (
	"context"
	"path/filepath"
	"slices"
	"sync"
	"time"

	"github.com/cairn-backup/cairn/internal/fsys"
	"golang.org/x/sync/errgroup"
)

// ReadAhead lists the source trees and lstats their entries while the repository
// opens: reading directories needs no key, and on a no-change backup of many small
// files those system calls are most of the walk. The walk takes each directory's
// listing from it once; what is not there (yet) it reads itself, as without it.
//
// The listings wait in a cache of bounded size (aheadBytes), and the read-ahead waits
// while it is full. It applies the rules the walk can decide from names and lstat
// alone (patterns, --exclude-larger-than, --one-file-system); it reads no file: a
// directory holding a marker file or a CACHEDIR.TAG is left to the walk, which
// decides on it as it always does. A directory it cannot read or describe whole is
// not kept: the walk reads it, and reports what fails, as without it.
//
// The walk takes a listing only if the directory is still as it was when listed
// (lstat: same inode, mtime and ctime), and the read-ahead holds none of a directory
// changed within racyWindow before it was listed, which a change just after could
// leave with the same times on a file system of coarse timestamps. So the names the
// walk sees are those of the moment it gets there, as without the read-ahead; what
// lstat said of each entry may be as old as the opening of the repository. That is
// no different from a file changing just after the walk passed it: the snapshot holds
// the state that was seen, and the next backup sees the change. A file seen as
// changed is still opened and read, and checked against fstat as ever.
type ReadAhead struct {
	cache   *aheadCache
	excl    *excluder
	markers []string // names of the files that exclude their directory
	caches  bool     // --exclude-caches: the subdirectories of a tagged one are the walk's
	oneFS   bool
	racy    time.Duration // directories changed this long before they were listed are not held
	g       *errgroup.Group
	cancel  context.CancelFunc
	stop    sync.Once
}

const (
	// aheadBytes bounds what the read-ahead holds, about 70,000 entries of short names.
	aheadBytes = 8 << 20
	// racyWindow covers the coarsest timestamps (FAT's two seconds): a directory changed
	// after it was listed gets times different from those it was listed with.
	racyWindow = 2 * time.Second
)

// StartReadAhead starts reading ahead the source trees opts names, for Run to take
// when it gets opts with ReadAhead set. It returns nil (no read-ahead) for a stream
// or for options Run will refuse. Stop must be called whatever becomes of the backup.
func StartReadAhead(ctx context.Context, opts Options) *ReadAhead {
	return startReadAhead(ctx, opts, aheadBytes, racyWindow)
}

func startReadAhead(ctx context.Context, opts Options, max int64, racy time.Duration) *ReadAhead {
	if opts.Stdin != nil {
		return nil
	}
	paths, err := cleanPaths(opts.Paths)
	if err != nil {
		return nil
	}
	xo := opts.excludeOptions()
	excl, err := newExcluder(xo)
	if err != nil {
		return nil
	}
	a := &ReadAhead{cache: newAheadCache(max), excl: excl, caches: xo.Caches, oneFS: opts.OneFileSystem,
		racy: racy, g: &errgroup.Group{}}
	for _, m := range excl.markers {
		a.markers = append(a.markers, m.name)
	}
	ctx, a.cancel = context.WithCancel(ctx)
	a.g.SetLimit(dirWalkers) // as many as the walk: both wait on the kernel more than on the CPU
	a.g.Go(func() error {
		for _, p := range outermost(paths) {
			info, err := fsys.Lstat(p)
			if err == nil && info.Kind == fsys.Dir && !excl.matched(p, filepath.Base(p), info) {
				a.dir(ctx, p, info.Dev)
			}
		}
		return nil
	})
	return a
}

// Stop ends the read-ahead, waits for its goroutines and drops what it holds. It may
// be called more than once, and on nil.
func (a *ReadAhead) Stop() {
	if a == nil {
		return
	}
	a.stop.Do(func() {
		a.cancel()
		_ = a.g.Wait()
		a.cache.close()
	})
}

// take returns the listing of the directory path once, if the read-ahead holds it
// and the directory, as lstat describes it now (fresh), is still as it was listed.
// A listing held is dropped either way.
func (a *ReadAhead) take(path string, now fsys.Info, fresh bool) (listing, bool) {
	if a == nil {
		return listing{}, false
	}
	l, ok := a.cache.take(path)
	if !ok {
		return listing{}, false
	}
	if !fresh || !sameDir(now, l.self) {
		a.cache.stale(1)
		return listing{}, false
	}
	return l, true
}

func sameDir(a, b fsys.Info) bool {
	return a.Kind == b.Kind && a.Inode == b.Inode && a.Dev == b.Dev && a.MTime == b.MTime && a.CTime == b.CTime
}

// dir reads the directory path and holds its listing, then its subdirectories the
// walk will enter, in parallel as the walk does. A directory the walk has already
// passed is not read, nor anything beneath it: the walk is ahead there.
func (a *ReadAhead) dir(ctx context.Context, path string, rootDev uint64) {
	if ctx.Err() != nil || !a.cache.wanted(path) {
		return
	}
	l, ok := readListing(path)
	if !ok || a.marked(l.names) {
		return
	}
	var subs []string
	if !(a.caches && hasName(l.names, cacheTagName)) {
		subs = a.subdirs(path, l, rootDev)
	}
	if !a.hold(ctx, path, l) {
		return
	}
	for _, p := range subs {
		walk := func() error {
			a.dir(ctx, p, rootDev)
			return nil
		}
		if !a.g.TryGo(walk) {
			_ = walk()
		}
	}
}

// hold keeps the listing l of path for the walk, unless the directory changed too
// shortly before it was listed; false when the read-ahead should not go beneath it.
func (a *ReadAhead) hold(ctx context.Context, path string, l listing) bool {
	if l.self.CTime >= l.at-a.racy.Nanoseconds() || l.self.MTime >= l.at-a.racy.Nanoseconds() {
		return a.cache.wanted(path)
	}
	return a.cache.put(ctx, path, l)
}

// subdirs names the subdirectories of the listing l of path that the walk enters.
func (a *ReadAhead) subdirs(path string, l listing, rootDev uint64) []string {
	var subs []string
	for i, name := range l.names {
		info := l.infos[i]
		if info.Kind != fsys.Dir || a.oneFS && info.Dev != rootDev {
			continue
		}
		if p := childPath(path, name); !a.excl.matched(p, name, info) {
			subs = append(subs, p)
		}
	}
	return subs
}

// marked reports a directory holding a file named as a marker: the walk may leave it
// out, which only a read can tell.
func (a *ReadAhead) marked(names []string) bool {
	for _, m := range a.markers {
		if hasName(names, m) {
			return true
		}
	}
	return false
}

// listing is a directory's entry names, sorted, and what lstat said of each; what
// fstat said of the directory before it was read, and when (ns since the epoch).
type listing struct {
	names []string
	infos []fsys.Info
	self  fsys.Info
	at    int64
}

// readListing lists the directory path and describes every entry; false when any of
// it fails.
func readListing(path string) (listing, bool) {
	d, err := fsys.OpenDirectory(path)
	if err != nil {
		return listing{}, false
	}
	defer d.Close()
	l := listing{at: time.Now().UnixNano()}
	if l.self, err = d.Stat(); err != nil {
		return listing{}, false
	}
	if l.names, err = d.Names(); err != nil {
		return listing{}, false
	}
	l.infos = make([]fsys.Info, len(l.names))
	for i, name := range l.names {
		if l.infos[i], err = d.Lstat(name); err != nil {
			return listing{}, false
		}
	}
	return l, true
}

// outermost drops from the paths those beneath another: the walk goes there once,
// from the outer one.
func outermost(paths []string) []string {
	set := make(map[string]bool, len(paths))
	for _, p := range paths {
		set[p] = true
	}
	var out []string
	for _, p := range paths {
		inner := false
		for c, d := p, filepath.Dir(p); d != c && !inner; c, d = d, filepath.Dir(d) {
			inner = set[d]
		}
		if !inner {
			out = append(out, p)
		}
	}
	return out
}

func hasName(sorted []string, name string) bool {
	_, ok := slices.BinarySearch(sorted, name)
	return ok
}
