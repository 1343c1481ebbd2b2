package repo

import (
	"context"
	"fmt"

	"github.com/cairn-backup/cairn/internal/digest"
	"github.com/cairn-backup/cairn/manifest"
)

// BlobID names a blob by type and id.
type BlobID struct {
	Type BlobType
	ID   digest.ID
}

// UsedBlobs walks the tree of every snapshot in snaps and returns every blob they
// need: directory nodes, chunk-list nodes and chunks (docs/prune.md step 6). Nodes
// shared by many snapshots are read once. A node that cannot be read is an error:
// without it the blobs below are unknown, and unknown is never "unused".
func (r *Repo) UsedBlobs(ctx context.Context, snaps []Snapshot) (map[BlobID]bool, error) {
	u := &user{l: r, used: map[BlobID]bool{}, lists: map[digest.ID]bool{}}
	for _, s := range snaps {
		if err := u.dir(ctx, s.Tree, s.Root, 0); err != nil {
			return nil, fmt.Errorf("snapshot %s: %w", s.ID.Short(), err)
		}
	}
	return u.used, nil
}

type user struct {
	l     manifest.BlobLoader
	used  map[BlobID]bool
	lists map[digest.ID]bool // files whose chunk lists were read, by listKey
}

// recorder loads tree blobs for a user and records each one it loads as used: a
// directory's node and, for a large directory, every piece the node lists. A piece
// recorded here whose bytes are also another directory's node stops the walk at that
// directory, which is right: its entries are the piece's, walked with the directory
// the piece belongs to.
type recorder struct{ u *user }

func (r recorder) LoadTree(ctx context.Context, id digest.ID) ([]byte, error) {
	r.u.used[BlobID{TreeBlob, id}] = true
	return r.u.l.LoadTree(ctx, id)
}

func (u *user) dir(ctx context.Context, tree, root digest.ID, depth int) error {
	if tree.IsZero() || u.used[BlobID{TreeBlob, tree}] {
		return nil
	}
	if depth > manifest.MaxDepth {
		return fmt.Errorf("tree %s: nested deeper than %d: %w", tree.Short(), manifest.MaxDepth, manifest.ErrCorrupt)
	}
	// Read through recorder: a large directory is its node and the pieces it lists,
	// and each of them is in use (the node alone is not the directory).
	n, err := manifest.ReadDir(ctx, recorder{u}, tree, root)
	if err != nil {
		return fmt.Errorf("tree %s: %w", tree.Short(), err)
	}
	for i := range n.Entries {
		e := &n.Entries[i]
		switch e.Type {
		case manifest.Dir:
			err = u.dir(ctx, e.Subtree, e.Content, depth+1)
		case manifest.File:
			err = u.file(ctx, e)
		}
		if err != nil {
			return err
		}
	}
	return nil
}

func (u *user) file(ctx context.Context, e *manifest.Entry) error {
	chunks := e.Chunks
	if len(e.Lists) > 0 {
		key := manifest.ListKey(e)
		if u.lists[key] {
			return nil
		}
		u.lists[key] = true
		for _, id := range e.Lists {
			u.used[BlobID{TreeBlob, id}] = true
		}
		cs, err := manifest.ReadChunks(ctx, u.l, e)
		if err != nil {
			return err
		}
		chunks = cs
	}
	for _, c := range chunks {
		u.used[BlobID{DataBlob, c.ID}] = true
	}
	return nil
}
