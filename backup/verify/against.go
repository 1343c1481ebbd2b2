package verify

import (
	"bytes"
	"context"
	"fmt"
	"github.com/cairn-backup/cairn/internal/fsentry"
	"path/filepath"
	"sort"
	"strings"

	"github.com/cairn-backup/cairn/internal/digest"
	"github.com/cairn-backup/cairn/internal/fsys"
	"github.com/cairn-backup/cairn/internal/repo"
	"github.com/cairn-backup/cairn/manifest"
)

// Comparison is what Against found.
type Comparison struct {
	Path         string      `json:"path"`
	Root         digest.ID   `json:"root"`          // Merkle id of the live entry's content
	SnapshotRoot digest.ID   `json:"snapshot_root"` // the same in the snapshot
	Equal        bool        `json:"equal"`         // the live tree is the snapshot's, as far as backup records
	Added        int         `json:"added"`
	Removed      int         `json:"removed"`
	Modified     int         `json:"modified"`
	FilesRead    int         `json:"files_read"`   // files whose metadata differ: chunked and hashed
	FilesReused  int         `json:"files_reused"` // files unchanged by metadata: not read
	BytesRead    int64       `json:"bytes_read"`
	Unreadable   []LiveError `json:"unreadable,omitempty"`
}

// LiveError is a live file that could not be read.
type LiveError struct {
	Path string `json:"path"`
	Err  string `json:"error"`
}

// Against compares the live file or directory at path (absolute) with the same path in
// snapshot s, by Merkle roots computed bottom-up as backup computes them. Files whose
// size, mtime, ctime and inode equal the snapshot's are not read: their content root
// is the snapshot's. Other files are chunked with the repository's parameters and
// hashed, never stored. fn receives every entry that differs, depth first in name
// order, with Path absolute; a directory is reported Modified only when its own
// metadata changed. Nothing is reported under a directory whose root is the snapshot's.
// When some live files could not be read it returns the Comparison with an error
// wrapping ErrPartial; other errors come without one.
func Against(ctx context.Context, r *repo.Repo, s repo.Snapshot, path string, fn func(manifest.Change) error) (*Comparison, error) {
	if !filepath.IsAbs(path) {
		return nil, fmt.Errorf("compare %s: the path must be absolute", path)
	}
	path = filepath.Clean(path)
	old, err := find(ctx, r, s, path)
	if err != nil {
		return nil, err
	}
	h, err := newHasher(r.Config())
	if err != nil {
		return nil, err
	}
	c := &comparer{r: r, h: h, fn: fn, out: &Comparison{Path: path, SnapshotRoot: old.Content}}
	info, err := fsys.Lstat(path)
	if err != nil {
		return nil, fmt.Errorf("compare %s: %w", path, err)
	}
	if err := c.pair(ctx, path, info, old); err != nil {
		return nil, err
	}
	c.out.BytesRead = h.bytes
	c.out.Equal = c.out.Root == old.Content && c.out.Added+c.out.Removed+c.out.Modified == 0
	if n := len(c.out.Unreadable); n > 0 {
		return c.out, fmt.Errorf("%w: %d", ErrPartial, n)
	}
	return c.out, nil
}

// find returns the snapshot's entry at path, walking its components from the root.
func find(ctx context.Context, r *repo.Repo, s repo.Snapshot, path string) (*manifest.Entry, error) {
	e := &manifest.Entry{Type: manifest.Dir, Subtree: s.Tree, Content: s.Root}
	for _, name := range strings.Split(strings.Trim(path, "/"), "/") {
		if name == "" {
			continue
		}
		if e.Type != manifest.Dir {
			return nil, fmt.Errorf("%s is not in snapshot %s: a parent is a %s", path, s.ID.Short(), e.Type)
		}
		n, err := manifest.ReadDir(ctx, r, e.Subtree, e.Content)
		if err != nil {
			return nil, err
		}
		k := sort.Search(len(n.Entries), func(i int) bool { return n.Entries[i].Name >= name })
		if k == len(n.Entries) || n.Entries[k].Name != name {
			return nil, fmt.Errorf("%s is not in snapshot %s", path, s.ID.Short())
		}
		e = &n.Entries[k]
	}
	return e, nil
}

type comparer struct {
	r   *repo.Repo
	h   *hasher
	fn  func(manifest.Change) error
	out *Comparison
}

// pair compares the top entry: it is reported like any other.
func (c *comparer) pair(ctx context.Context, path string, info fsys.Info, old *manifest.Entry) error {
	name := old.Name
	if path == "/" {
		name = ""
	}
	e, ok, err := c.entry(ctx, path, name, info, old)
	if err != nil || !ok {
		return err
	}
	c.out.Root = e.Content
	return nil
}

// entry builds the live entry at path and reports it against old (nil: not in the
// snapshot). ok is false for an entry that could not be read (recorded, skipped).
func (c *comparer) entry(ctx context.Context, path, name string, info fsys.Info, old *manifest.Entry) (manifest.Entry, bool, error) {
	e, err := fsentry.Of(name, path, info)
	if err != nil {
		c.unreadable(path, err)
		if info.Kind == fsys.Symlink {
			return e, false, nil
		}
	}
	if old != nil && old.Type != e.Type {
		if err := c.removed(ctx, path, old); err != nil {
			return e, false, err
		}
		old = nil
	}
	if old == nil {
		if err := c.report(path, manifest.Added, nil, &e); err != nil {
			return e, false, err
		}
	}
	switch e.Type {
	case manifest.Dir:
		if old != nil && !sameMetadata(old, &e) {
			if err := c.report(path, manifest.Modified, old, &e); err != nil {
				return e, false, err
			}
		}
		if err := c.dir(ctx, path, &e, old); err != nil {
			return e, false, err
		}
		return e, true, nil
	case manifest.File:
		if !c.content(ctx, path, info, &e, old) {
			return e, false, nil
		}
	}
	if old != nil && !bytes.Equal(old.HashedEncoding(), e.HashedEncoding()) {
		return e, true, c.report(path, manifest.Modified, old, &e)
	}
	return e, true, nil
}

// content sets a file's content root: the snapshot's if the file is unchanged by
// size, mtime, ctime and inode, otherwise by reading it.
func (c *comparer) content(ctx context.Context, path string, info fsys.Info, e, old *manifest.Entry) bool {
	if old != nil && old.Size == uint64(info.Size) && old.MTime == info.MTime && old.CTime == info.CTime && old.Inode == info.Inode {
		e.Content = old.Content
		c.out.FilesReused++
		return true
	}
	root, err := c.h.content(ctx, path, info.Size)
	if err != nil {
		c.unreadable(path, err)
		return false
	}
	e.Content = root
	c.out.FilesRead++
	return true
}

// dir reads the live directory and its snapshot twin (if any) side by side, reports
// what differs below, and sets e's Merkle root.
func (c *comparer) dir(ctx context.Context, path string, e, old *manifest.Entry) error {
	var olds []manifest.Entry
	if old != nil {
		n, err := manifest.ReadDir(ctx, c.r, old.Subtree, old.Content)
		if err != nil {
			return fmt.Errorf("compare %s: %w", path, err)
		}
		olds = n.Entries
	}
	names, err := fsys.ReadDirNames(path)
	if err != nil {
		c.unreadable(path, err)
	}
	var leaves [][]byte
	i := 0
	for _, name := range names {
		if i, err = c.removedBefore(ctx, path, olds, i, name); err != nil {
			return err
		}
		var twin *manifest.Entry
		if i < len(olds) && olds[i].Name == name {
			twin = &olds[i]
			i++
		}
		child := join(path, name)
		info, err := fsys.Lstat(child)
		if err != nil {
			c.unreadable(child, err)
			continue
		}
		ce, ok, err := c.entry(ctx, child, name, info, twin)
		if err != nil {
			return err
		}
		if ok {
			leaves = append(leaves, ce.HashedEncoding())
		}
	}
	if _, err := c.removedBefore(ctx, path, olds, i, ""); err != nil {
		return err
	}
	e.Content = manifest.MerkleRoot(leaves)
	return nil
}

// removedBefore reports the snapshot entries olds[i:] named before name (all of them
// for ""), which the live directory lacks, and returns the index of the next one.
func (c *comparer) removedBefore(ctx context.Context, dir string, olds []manifest.Entry, i int, name string) (int, error) {
	for ; i < len(olds) && (name == "" || olds[i].Name < name); i++ {
		if err := c.removed(ctx, join(dir, olds[i].Name), &olds[i]); err != nil {
			return i, err
		}
	}
	return i, nil
}

// removed reports old and, for a directory, everything under it.
func (c *comparer) removed(ctx context.Context, path string, old *manifest.Entry) error {
	if err := c.report(path, manifest.Removed, old, nil); err != nil || old.Type != manifest.Dir {
		return err
	}
	return manifest.Walk(ctx, c.r, old.Subtree, old.Content, func(p string, e *manifest.Entry) error {
		return c.report(join(path, p), manifest.Removed, e, nil)
	})
}

func (c *comparer) report(path string, kind manifest.ChangeKind, old, e *manifest.Entry) error {
	switch kind {
	case manifest.Added:
		c.out.Added++
	case manifest.Removed:
		c.out.Removed++
	default:
		c.out.Modified++
	}
	return c.fn(manifest.Change{Path: path, Kind: kind, Old: old, New: e})
}

func (c *comparer) unreadable(path string, err error) {
	c.out.Unreadable = append(c.out.Unreadable, LiveError{Path: path, Err: err.Error()})
}

// sameMetadata compares two directory entries but for their content.
func sameMetadata(a, b *manifest.Entry) bool {
	x, y := *a, *b
	x.Content, y.Content = digest.ID{}, digest.ID{}
	return bytes.Equal(x.HashedEncoding(), y.HashedEncoding())
}

func join(dir, name string) string {
	if dir == "/" {
		return "/" + name
	}
	return dir + "/" + name
}
