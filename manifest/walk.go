package manifest

import (
	"context"
	"errors"
	"fmt"

	"github.com/cairn-backup/cairn/internal/digest"
)

// SkipDir, returned by a Walk callback for a directory, skips that directory's
// contents. For other entries it is ignored.
var SkipDir = errors.New("skip this directory")

// Walk calls fn for every entry under the directory whose node is tree and whose
// Merkle root is root (not checked if zero; a zero tree is an empty directory), depth
// first in name order. Paths are relative to that directory and joined with "/": its
// children are "a", their children "a/b". Every directory below is checked against
// the Merkle root its entry names. An error from fn other than SkipDir stops the walk
// and is returned as is. Names are not checked: a hostile tree may hold "..", or "a/b"
// which makes a path ambiguous, so a caller that creates files checks e.Name with
// ValidName rather than trusting the path.
func Walk(ctx context.Context, l BlobLoader, tree, root digest.ID, fn func(path string, e *Entry) error) error {
	if tree.IsZero() {
		return nil
	}
	w := &walker{l: l, fn: fn}
	return w.dir(ctx, "", tree, root, 0)
}

type walker struct {
	l  BlobLoader
	fn func(path string, e *Entry) error
}

func (w *walker) dir(ctx context.Context, path string, tree, root digest.ID, depth int) error {
	if depth > MaxDepth {
		return fmt.Errorf("directory %q: nested deeper than %d: %w", path, MaxDepth, ErrCorrupt)
	}
	n, err := ReadDir(ctx, w.l, tree, root)
	if err != nil {
		return dirError(path, err)
	}
	for i := range n.Entries {
		e := &n.Entries[i]
		p := join(path, e.Name)
		err := w.fn(p, e)
		if errors.Is(err, SkipDir) {
			continue
		}
		if err != nil {
			return err
		}
		if e.Type == Dir {
			if err := w.dir(ctx, p, e.Subtree, e.Content, depth+1); err != nil {
				return err
			}
		}
	}
	return nil
}

// join appends a name to a directory path; "" is the top directory.
func join(dir, name string) string {
	if dir == "" {
		return name
	}
	return dir + "/" + name
}

// dirError names the directory whose node could not be read.
func dirError(path string, err error) error {
	if path == "" {
		return fmt.Errorf("top directory: %w", err)
	}
	return fmt.Errorf("directory %q: %w", path, err)
}
