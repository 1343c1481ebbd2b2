package archive

import (
	"context"
	"errors"
	"io/fs"
	"path/filepath"
	"sort"
	"strings"

	"github.com/cairn-backup/cairn/internal/fsentry"
	"github.com/cairn-backup/cairn/internal/fsys"
	"github.com/cairn-backup/cairn/internal/repo"
	"github.com/cairn-backup/cairn/manifest"
)

// pathEntry backs up one of the paths given on the command line.
func (b *run) pathEntry(ctx context.Context, path string, prev *prevRef) (manifest.Entry, error) {
	info, err := fsys.Lstat(path)
	if err != nil { // gone since the paths were looked at
		b.sourceError(path, err)
		return manifest.Entry{}, errSkipped
	}
	// The excludes hold for the paths given too, as restic's do: a big file named on
	// the command line with --exclude-larger-than is left out like one found inside.
	if b.excl.excluded(path, filepath.Base(path), info) {
		return manifest.Entry{}, errSkipped
	}
	if info.Kind == fsys.Dir {
		return b.dir(ctx, path, info, prev, info.Dev)
	}
	var slot entrySlot
	b.entry(ctx, &slot, path, info, prev.get())
	return slot.wait(ctx)
}

// dir walks one directory: it lists and describes the entries, starts walking the
// subdirectories, then (with the parent snapshot's node at hand) reuses or reads the
// files, and writes the node once all are done.
func (b *run) dir(ctx context.Context, path string, info fsys.Info, prev *prevRef, rootDev uint64) (manifest.Entry, error) {
	b.stats.Dirs.Add(1)
	var kids []child
	var err error
	if !b.opts.OneFileSystem || info.Dev == rootDev { // else a mount point: recorded, not entered
		kids, err = b.children(path)
	}
	node := b.nodeOf(ctx, prev)
	slots := make([]entrySlot, len(kids))
	for i, k := range kids { // subdirectories first: they need no parent node yet
		if err := ctx.Err(); err != nil {
			return manifest.Entry{}, err
		}
		if k.info.Kind == fsys.Dir {
			b.subdir(ctx, &slots[i], k.path, k.info, childOf(node, k.name), rootDev)
		}
	}
	if errors.Is(err, fs.ErrNotExist) { // vanished since it was listed: reported once, left out
		b.stats.Dirs.Add(-1)
		b.sourceError(path, err)
		return manifest.Entry{}, errSkipped
	}
	pe := prev.get()
	e := b.baseEntry(filepath.Base(path), path, info, pe)
	if err != nil {
		b.sourceError(path, err)
		return b.writeDir(ctx, e, nil)
	}
	prevNode := node.get()
	for i, k := range kids {
		if k.info.Kind != fsys.Dir {
			b.entry(ctx, &slots[i], k.path, k.info, lookup(prevNode, k.name))
		}
	}
	entries, err := waitAll(ctx, slots)
	if err != nil {
		return e, err
	}
	if b.unchangedDir(ctx, pe, prevNode, entries) {
		e.Content, e.Subtree = pe.Content, pe.Subtree // same node: no encoding, no hashing
		return e, nil
	}
	return b.writeDir(ctx, e, entries)
}

// waitAll collects the entries of the slots, leaving out the skipped ones.
func waitAll(ctx context.Context, slots []entrySlot) ([]manifest.Entry, error) {
	entries := make([]manifest.Entry, 0, len(slots))
	for i := range slots {
		ce, err := slots[i].wait(ctx)
		if errors.Is(err, errSkipped) {
			continue
		}
		if err != nil {
			return nil, err
		}
		entries = append(entries, ce)
	}
	return entries, nil
}

// child is one entry of a directory being walked, as lstat described it.
type child struct {
	name, path string
	info       fsys.Info
}

// children describes the entries of the directory path that are not excluded, and
// reports those it cannot. Each is described relative to the open directory, which
// is closed before any is walked: a deep tree holds no descriptor per level.
func (b *run) children(path string) ([]child, error) {
	return b.listChildren(path, b.sourceError)
}

// listChildren lists the entries of the directory path that are not excluded, and
// passes those it cannot describe to unreadable.
func (b *run) listChildren(path string, unreadable func(string, error)) ([]child, error) {
	d, err := fsys.OpenDirectory(path)
	if err != nil {
		return nil, err
	}
	defer d.Close()
	names, err := d.Names()
	if err != nil {
		return nil, err
	}
	cacheTagged := b.excl.caches && isCacheDir(path, names)
	kids := make([]child, 0, len(names))
	for _, name := range names {
		if cacheTagged && name != cacheTagName {
			continue
		}
		p := childPath(path, name)
		info, err := d.Lstat(name)
		if err != nil {
			unreadable(p, err)
			continue
		}
		if !b.excl.excluded(p, name, info) {
			kids = append(kids, child{name, p, info})
		}
	}
	return kids, nil
}

// unchangedDir reports whether a directory's entries equal its parent snapshot's,
// down to the side data, so that its stored node can be reused as it is.
func (b *run) unchangedDir(ctx context.Context, prev *manifest.Entry, prevNode *manifest.Node, entries []manifest.Entry) bool {
	if prevNode == nil || len(prevNode.Entries) != len(entries) {
		return false
	}
	for i := range entries {
		if !sameEntry(&entries[i], &prevNode.Entries[i]) {
			return false
		}
	}
	ok, err := b.store.Has(ctx, repo.TreeBlob, prev.Subtree)
	return err == nil && ok
}

// subdir walks a subdirectory on another goroutine when one is free, and in this one
// otherwise: TryGo never waits, so parents waiting for children cannot starve the pool
// (stat-bound walks of many small files gain most from this).
func (b *run) subdir(ctx context.Context, s *entrySlot, path string, info fsys.Info, prev *prevRef, rootDev uint64) {
	s.start()
	walk := func() error {
		de, err := b.dir(ctx, path, info, prev, rootDev)
		s.set(de, err)
		return nil
	}
	if !b.dirs.TryGo(walk) {
		_ = walk()
	}
}

func (b *run) writeDir(ctx context.Context, e manifest.Entry, entries []manifest.Entry) (manifest.Entry, error) {
	root, blob, err := manifest.WriteDir(ctx, b.store, entries)
	if err != nil {
		return e, b.fail(err)
	}
	e.Content, e.Subtree = root, blob
	return e, nil
}

// entry records a non-directory in s. Regular files may be filled in by a reader in
// the background; a symlink whose target cannot be read is left out.
func (b *run) entry(ctx context.Context, s *entrySlot, path string, info fsys.Info, prev *manifest.Entry) {
	e, ok := b.entryOf(filepath.Base(path), path, info, prev)
	switch {
	case !ok:
		s.skip()
	case info.Kind == fsys.Regular:
		b.file(ctx, s, path, info, e, prev)
	default:
		s.fill(e)
	}
}

// childPath joins a clean directory path and an entry name, as filepath.Join would
// but without cleaning again: the walk joins a path for every entry.
func childPath(dir, name string) string {
	if strings.HasSuffix(dir, "/") {
		return dir + name
	}
	return dir + "/" + name
}

// baseEntry fills the metadata every entry has; what cannot be read is reported.
func (b *run) baseEntry(name, path string, info fsys.Info, prev *manifest.Entry) manifest.Entry {
	e, _ := b.entryOf(name, path, info, prev)
	return e
}

// entryOf reports unreadable xattrs (the entry is kept without them) and symlink
// targets (the entry is dropped: ok is false). An entry that vanished since it was
// listed is reported here, once, and dropped: its file is not opened to fail again.
// An entry unchanged since the parent snapshot takes its target and xattrs from
// there: one syscall less per file.
func (b *run) entryOf(name, path string, info fsys.Info, prev *manifest.Entry) (manifest.Entry, bool) {
	if !b.opts.Force && fsentry.Unchanged(prev, info) {
		return fsentry.Reuse(name, info, prev), true
	}
	e, err := fsentry.Of(name, path, info)
	if name == "/" {
		e.Name = ""
	}
	if err != nil {
		b.sourceError(path, err)
		return e, !errors.Is(err, fs.ErrNotExist) && !(info.Kind == fsys.Symlink && e.Target == "")
	}
	return e, true
}

func (b *run) sourceError(path string, err error) {
	b.stats.Errors.Add(1)
	b.errs.add(path, err)
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
