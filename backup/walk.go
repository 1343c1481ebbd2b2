package backup

import (
	"context"
	"errors"
	"path/filepath"
	"sort"

	"github.com/cairn-backup/cairn/internal/fsentry"
	"github.com/cairn-backup/cairn/internal/fsys"
	"github.com/cairn-backup/cairn/internal/pack"
	"github.com/cairn-backup/cairn/manifest"
)

// pathEntry backs up one of the paths given on the command line.
func (b *run) pathEntry(ctx context.Context, path string, prev *manifest.Entry) (manifest.Entry, error) {
	info, err := fsys.Lstat(path)
	if err != nil {
		return manifest.Entry{}, err
	}
	if info.Kind == fsys.Dir {
		return b.dir(ctx, path, info, prev, info.Dev)
	}
	slot := b.entry(ctx, path, info, prev, info.Dev)
	return slot.wait(ctx)
}

// dir walks one directory: it reads the entries, starts reading changed files in the
// background, descends into subdirectories, then writes the node once all are done.
func (b *run) dir(ctx context.Context, path string, info fsys.Info, prev *manifest.Entry, rootDev uint64) (manifest.Entry, error) {
	b.stats.Dirs.Add(1)
	e := b.baseEntry(filepath.Base(path), path, info, prev)
	if b.opts.OneFileSystem && info.Dev != rootDev {
		return b.writeDir(ctx, e, nil) // a mount point: recorded, not entered
	}
	names, err := fsys.ReadDirNames(path)
	if err != nil {
		b.sourceError(path, err)
		return b.writeDir(ctx, e, nil)
	}
	prevNode := b.prevDir(ctx, prev)
	cacheTagged := b.excl.caches && isCacheDir(path, names)
	slots := make([]*entrySlot, 0, len(names))
	for _, name := range names {
		if err := ctx.Err(); err != nil {
			return e, err
		}
		child := filepath.Join(path, name)
		if cacheTagged && name != cacheTagName {
			continue
		}
		ci, err := fsys.Lstat(child)
		if err != nil {
			b.sourceError(child, err)
			continue
		}
		if b.excl.excluded(child, name, ci.Kind == fsys.Dir) {
			continue
		}
		pe := lookup(prevNode, name)
		if ci.Kind == fsys.Dir {
			slots = append(slots, b.subdir(ctx, child, ci, pe, rootDev))
			continue
		}
		slots = append(slots, b.entry(ctx, child, ci, pe, rootDev))
	}
	entries := make([]manifest.Entry, 0, len(slots))
	for _, s := range slots {
		ce, err := s.wait(ctx)
		if errors.Is(err, errSkipped) {
			continue
		}
		if err != nil {
			return e, err
		}
		entries = append(entries, ce)
	}
	if b.unchangedDir(ctx, prev, prevNode, entries) {
		e.Content, e.Subtree = prev.Content, prev.Subtree // same node: no encoding, no hashing
		return e, nil
	}
	return b.writeDir(ctx, e, entries)
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
	ok, err := b.store.HasBlob(ctx, pack.Tree, prev.Subtree)
	return err == nil && ok
}

// subdir walks a subdirectory on another goroutine when one is free, and in this one
// otherwise: TryGo never waits, so parents waiting for children cannot starve the pool
// (stat-bound walks of many small files gain most from this).
func (b *run) subdir(ctx context.Context, path string, info fsys.Info, prev *manifest.Entry, rootDev uint64) *entrySlot {
	slot := newSlot()
	walk := func() error {
		de, err := b.dir(ctx, path, info, prev, rootDev)
		slot.set(de, err)
		return nil
	}
	if !b.dirs.TryGo(walk) {
		_ = walk()
	}
	return slot
}

func (b *run) writeDir(ctx context.Context, e manifest.Entry, entries []manifest.Entry) (manifest.Entry, error) {
	root, blob, err := manifest.WriteDir(ctx, b.store, entries)
	if err != nil {
		return e, err
	}
	e.Content, e.Subtree = root, blob
	return e, nil
}

// entry records a non-directory. Regular files come back as a slot filled in by a
// reader in the background; a symlink whose target cannot be read is left out.
func (b *run) entry(ctx context.Context, path string, info fsys.Info, prev *manifest.Entry, rootDev uint64) *entrySlot {
	e, ok := b.entryOf(filepath.Base(path), path, info, prev)
	if !ok {
		return skippedSlot()
	}
	if info.Kind == fsys.Regular {
		return b.file(ctx, path, info, e, prev)
	}
	return doneSlot(e)
}

// baseEntry fills the metadata every entry has; what cannot be read is reported.
func (b *run) baseEntry(name, path string, info fsys.Info, prev *manifest.Entry) manifest.Entry {
	e, _ := b.entryOf(name, path, info, prev)
	return e
}

// entryOf reports unreadable xattrs (the entry is kept without them) and symlink
// targets (the entry is dropped: ok is false). An entry unchanged since the parent
// snapshot takes its target and xattrs from there: one syscall less per file.
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
		return e, !(info.Kind == fsys.Symlink && e.Target == "")
	}
	return e, true
}

// prevDir loads the parent snapshot's node for a directory, if it has one.
func (b *run) prevDir(ctx context.Context, prev *manifest.Entry) *manifest.Node {
	if prev == nil || prev.Type != manifest.Dir {
		return nil
	}
	n, err := manifest.ReadDir(ctx, b.store, prev.Subtree, prev.Content)
	if err != nil {
		return nil // a damaged parent node only costs the reuse of its files
	}
	return n
}

func lookup(n *manifest.Node, name string) *manifest.Entry {
	if n == nil {
		return nil
	}
	i := sort.Search(len(n.Entries), func(i int) bool { return n.Entries[i].Name >= name })
	if i < len(n.Entries) && n.Entries[i].Name == name {
		return &n.Entries[i]
	}
	return nil
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
