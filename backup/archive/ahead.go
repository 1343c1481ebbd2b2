package archive

import (
	"context"
	"path/filepath"
	"slices"
	"sync"

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
// What the walk takes from it is at most as old as the opening of the repository.
// That is no different from a file changing just after the walk passed it: the
// snapshot holds the state that was seen, and the next backup sees the change. A file
// seen as changed is still opened and read, and checked against fstat as ever; one
// gone since is reported as gone, as when it vanishes after its listing.
type ReadAhead struct {
	cache   *aheadCache
	excl    *excluder
	markers []string // names of the files that exclude their directory
	caches  bool     // --exclude-caches: the subdirectories of a tagged one are the walk's
	oneFS   bool
	g       *errgroup.Group
	cancel  context.CancelFunc
	stop    sync.Once
}

// aheadBytes bounds what the read-ahead holds, about 70,000 entries of short names.
const aheadBytes = 8 << 20

// StartReadAhead starts reading ahead the source trees opts names, for Run to take
// when it gets opts with ReadAhead set. It returns nil (no read-ahead) for a stream
// or for options Run will refuse. Stop must be called whatever becomes of the backup.
func StartReadAhead(ctx context.Context, opts Options) *ReadAhead {
	return startReadAhead(ctx, opts, aheadBytes)
}

func startReadAhead(ctx context.Context, opts Options, max int64) *ReadAhead {
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
	a := &ReadAhead{cache: newAheadCache(max), excl: excl, caches: xo.Caches, oneFS: opts.OneFileSystem, g: &errgroup.Group{}}
	for _, m := range excl.markers {
		a.markers = append(a.markers, m.name)
	}
	ctx, a.cancel = context.WithCancel(ctx)
	a.g.SetLimit(dirWalkers)
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

// take returns the listing of the directory path once, if the read-ahead holds it.
func (a *ReadAhead) take(path string) (listing, bool) {
	if a == nil {
		return listing{}, false
	}
	return a.cache.take(path)
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
	if !a.cache.put(ctx, path, l) {
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

// listing is a directory's entry names, sorted, and what lstat said of each.
type listing struct {
	names []string
	infos []fsys.Info
}

// readListing lists the directory path and describes every entry; false when any of
// it fails.
func readListing(path string) (listing, bool) {
	d, err := fsys.OpenDirectory(path)
	if err != nil {
		return listing{}, false
	}
	defer d.Close()
	names, err := d.Names()
	if err != nil {
		return listing{}, false
	}
	infos := make([]fsys.Info, len(names))
	for i, name := range names {
		if infos[i], err = d.Lstat(name); err != nil {
			return listing{}, false
		}
	}
	return listing{names, infos}, true
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
