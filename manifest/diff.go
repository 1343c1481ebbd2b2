package manifest

import (
	"bytes"
	"context"
	"errors"
	"fmt"

	"github.com/cairn-backup/cairn/internal/digest"
)

// ChangeKind says how an entry differs between two trees.
type ChangeKind uint8

// Kinds of change.
const (
	Added ChangeKind = 1 + iota
	Removed
	Modified
)

func (k ChangeKind) String() string {
	switch k {
	case Added:
		return "added"
	case Removed:
		return "removed"
	case Modified:
		return "modified"
	}
	return fmt.Sprintf("change(%d)", uint8(k))
}

// Change is one entry that differs; Path is as in Walk. Old is nil for Added, New for
// Removed.
type Change struct {
	Path     string
	Kind     ChangeKind
	Old, New *Entry
}

// MetadataChanged reports whether a Modified entry changed in more than its content:
// a directory whose only change is below it is Modified with MetadataChanged false.
func (c Change) MetadataChanged() bool {
	if c.Old == nil || c.New == nil {
		return true
	}
	a, b := *c.Old, *c.New
	a.Content, b.Content = digest.ID{}, digest.ID{}
	return !bytes.Equal(a.HashedEncoding(), b.HashedEncoding())
}

// Diff reports, depth first in name order, every entry that differs between two trees
// (each given as in Walk; a zero tree is an empty directory). An entry is Modified
// when its hashed fields differ; an entry whose type changed is Removed, then Added.
// A directory that is added or removed is reported with everything under it. Two
// directories with the same Merkle root are not entered, so the cost follows the size
// of the change, not of the trees. If fn returns SkipDir for a directory, Diff does
// not look inside it; any other error from fn stops Diff and is returned as is.
//
// Diff checks the Merkle root of each directory it reads whole. Where both sides of a
// large directory are split into pieces, it reads only the pieces the two sides do not
// share, and leaves checking that directory's root to verify.
func Diff(ctx context.Context, l BlobLoader, oldTree, oldRoot, newTree, newRoot digest.ID, fn func(Change) error) error {
	d := &differ{l: l, fn: fn}
	switch {
	case oldTree.IsZero() && newTree.IsZero():
		return nil
	case oldTree.IsZero():
		return d.under(ctx, "", &Entry{Type: Dir, Subtree: newTree, Content: newRoot}, Added, -1)
	case newTree.IsZero():
		return d.under(ctx, "", &Entry{Type: Dir, Subtree: oldTree, Content: oldRoot}, Removed, -1)
	}
	return d.dirs(ctx, "", oldTree, oldRoot, newTree, newRoot, 0)
}

type differ struct {
	l  BlobLoader
	fn func(Change) error
}

func (d *differ) dirs(ctx context.Context, path string, oT, oR, nT, nR digest.ID, depth int) error {
	if oT == nT || (oR == nR && !oR.IsZero()) {
		return nil
	}
	if depth > MaxDepth {
		return fmt.Errorf("directory %q: nested deeper than %d: %w", path, MaxDepth, ErrCorrupt)
	}
	olds, news, err := d.load(ctx, oT, oR, nT, nR)
	if err != nil {
		return dirError(path, err)
	}
	i, j := 0, 0
	for i < len(olds) || j < len(news) {
		switch {
		case j == len(news) || i < len(olds) && olds[i].Name < news[j].Name:
			err = d.report(ctx, join(path, olds[i].Name), &olds[i], Removed, depth)
			i++
		case i == len(olds) || news[j].Name < olds[i].Name:
			err = d.report(ctx, join(path, news[j].Name), &news[j], Added, depth)
			j++
		default:
			err = d.pair(ctx, join(path, news[j].Name), &olds[i], &news[j], depth)
			i++
			j++
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// load returns the entries of both directories, leaving out the pieces they share.
func (d *differ) load(ctx context.Context, oT, oR, nT, nR digest.ID) (olds, news []Entry, err error) {
	on, ol, err := loadNode(ctx, d.l, oT)
	if err != nil {
		return nil, nil, err
	}
	nn, nl, err := loadNode(ctx, d.l, nT)
	if err != nil {
		return nil, nil, err
	}
	// A piece id names the same entries on both sides, and names are unique, so
	// entries of a shared piece match their twins exactly: they cannot differ.
	if op, np := unshared(on.Pieces, nn.Pieces); len(op) < len(on.Pieces) {
		if olds, _, err = loadPieces(ctx, d.l, op); err == nil {
			news, _, err = loadPieces(ctx, d.l, np)
		}
		return olds, news, err
	}
	if olds, err = resolve(ctx, d.l, oT, on, ol, oR); err != nil {
		return nil, nil, err
	}
	news, err = resolve(ctx, d.l, nT, nn, nl, nR)
	return olds, news, err
}

// unshared returns the ids of a and of b that the other does not hold, in order.
func unshared(a, b []digest.ID) (onlyA, onlyB []digest.ID) {
	inA := make(map[digest.ID]bool, len(a))
	for _, id := range a {
		inA[id] = true
	}
	inB := make(map[digest.ID]bool, len(b))
	for _, id := range b {
		inB[id] = true
		if !inA[id] {
			onlyB = append(onlyB, id)
		}
	}
	for _, id := range a {
		if !inB[id] {
			onlyA = append(onlyA, id)
		}
	}
	return onlyA, onlyB
}

func (d *differ) pair(ctx context.Context, path string, o, n *Entry, depth int) error {
	if o.Type != n.Type {
		if err := d.report(ctx, path, o, Removed, depth); err != nil {
			return err
		}
		return d.report(ctx, path, n, Added, depth)
	}
	if bytes.Equal(o.HashedEncoding(), n.HashedEncoding()) {
		return nil // for a directory, equal Content: nothing below differs either
	}
	err := d.fn(Change{Path: path, Kind: Modified, Old: o, New: n})
	if err != nil || o.Type != Dir {
		return ignoreSkip(err)
	}
	return d.dirs(ctx, path, o.Subtree, o.Content, n.Subtree, n.Content, depth+1)
}

// report reports e as Added or Removed and, for a directory, everything under it.
func (d *differ) report(ctx context.Context, path string, e *Entry, kind ChangeKind, depth int) error {
	err := d.fn(change(path, kind, e))
	if err != nil || e.Type != Dir {
		return ignoreSkip(err)
	}
	return d.under(ctx, path, e, kind, depth)
}

// under reports everything under directory e as kind.
func (d *differ) under(ctx context.Context, path string, e *Entry, kind ChangeKind, depth int) error {
	w := &walker{l: d.l, fn: func(p string, e *Entry) error { return d.fn(change(p, kind, e)) }}
	return w.dir(ctx, path, e.Subtree, e.Content, depth+1)
}

func change(path string, kind ChangeKind, e *Entry) Change {
	if kind == Added {
		return Change{Path: path, Kind: kind, New: e}
	}
	return Change{Path: path, Kind: kind, Old: e}
}

func ignoreSkip(err error) error {
	if errors.Is(err, SkipDir) {
		return nil
	}
	return err
}
