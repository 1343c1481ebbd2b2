package verify

import (
	"context"
	"errors"
	"fmt"

	"github.com/cairn-backup/cairn/internal/digest"
	"github.com/cairn-backup/cairn/internal/repo"
	"github.com/cairn-backup/cairn/manifest"
)

// walker checks every snapshot's tree: every node loads, decodes and has the Merkle
// root its parent names, every chunk list matches its file, every chunk is indexed in
// a pack that is there. Nodes are walked once however many snapshots share them, so
// the cost follows the distinct nodes, not the number of snapshots.
type walker struct {
	src   *treeSource
	r     *repo.Repo
	packs *packTable
	rec   *recorder

	dirs     map[digest.ID]digest.ID // node blob id → the Merkle root it was reached with
	lists    map[digest.ID]bool      // files with chunk lists checked, by listKey
	badLists map[digest.ID]string    // of those, the ones whose lists do not match the file
	trees    int
	files    int
	partial  bool // a node could not be read: the set of used packs is incomplete
}

func newWalker(src *treeSource, rec *recorder) *walker {
	return &walker{src: src, r: src.r, packs: src.packs, rec: rec,
		dirs: map[digest.ID]digest.ID{}, lists: map[digest.ID]bool{}, badLists: map[digest.ID]string{}}
}

func (w *walker) snapshots(ctx context.Context, snaps []repo.Snapshot) error {
	for _, s := range snaps {
		if err := w.dir(ctx, s.Tree, s.Root, 0); err != nil {
			return err
		}
	}
	return nil
}

func (w *walker) dir(ctx context.Context, tree, root digest.ID, depth int) error {
	if tree.IsZero() {
		return nil
	}
	if prev, ok := w.dirs[tree]; ok {
		if prev != root {
			w.rec.problem(TreeDamaged, "tree "+tree.Short(), fmt.Sprintf("node %s is named with Merkle roots %s and %s", tree, prev.Short(), root.Short()))
		}
		return nil
	}
	w.dirs[tree] = root
	if depth > manifest.MaxDepth {
		w.rec.problem(TreeDamaged, "tree "+tree.Short(), fmt.Sprintf("nested deeper than %d directories", manifest.MaxDepth))
		return nil
	}
	n, err := manifest.ReadDir(ctx, w.src, tree, root)
	if err != nil {
		return w.treeError(ctx, tree, err)
	}
	w.trees++
	for i := range n.Entries {
		e := &n.Entries[i]
		switch e.Type {
		case manifest.Dir:
			err = w.dir(ctx, e.Subtree, e.Content, depth+1)
		case manifest.File:
			err = w.file(ctx, e)
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// treeError records a node that could not be read; only a cancelled walk stops.
func (w *walker) treeError(ctx context.Context, tree digest.ID, err error) error {
	if ctx.Err() != nil {
		return ctx.Err()
	}
	w.partial = true
	if errors.Is(err, errUnreadable) {
		return nil // recorded; nothing can be concluded
	}
	if !errors.Is(err, errBadBlob) {
		// Its blobs opened: the node itself breaks the format or its Merkle root.
		loc, _ := w.r.Lookup(repo.TreeBlob, tree)
		w.rec.badBlob(repo.TreeBlob, tree, loc.Pack, err.Error())
	}
	w.rec.problem(TreeDamaged, "tree "+tree.Short(), err.Error())
	return nil
}

func (w *walker) file(ctx context.Context, e *manifest.Entry) error {
	w.files++
	chunks := e.Chunks
	if len(e.Lists) > 0 {
		key := manifest.ListKey(e)
		if w.lists[key] {
			return nil
		}
		w.lists[key] = true
		cs, err := manifest.ReadChunks(ctx, w.src, e)
		switch {
		case ctx.Err() != nil:
			return ctx.Err()
		case errors.Is(err, errUnreadable):
			w.partial = true
			return nil
		case err != nil:
			w.badLists[key] = err.Error()
			if !errors.Is(err, errBadBlob) {
				w.rec.problem(TreeDamaged, "chunk lists of "+e.Content.Short(), err.Error())
			}
			return nil
		}
		chunks = cs
	}
	for _, c := range chunks {
		w.chunk(c.ID)
	}
	return nil
}

// chunk checks one data blob against the index and the listing of its pack.
func (w *walker) chunk(id digest.ID) {
	loc, ok := w.r.Lookup(repo.DataBlob, id)
	if !ok {
		w.rec.badBlob(repo.DataBlob, id, digest.ID{}, "not in the index")
		return
	}
	w.packs.markUsed(loc.Pack)
	p, _ := w.packs.get(loc.Pack)
	switch end := int64(loc.Offset) + int64(loc.Length); {
	case p.missing():
		w.rec.badBlob(repo.DataBlob, id, loc.Pack, "its pack is missing")
	case p.wrongSize() && end > p.listed:
		w.rec.badBlob(repo.DataBlob, id, loc.Pack, fmt.Sprintf("it ends at byte %d of a pack cut to %d", end, p.listed))
	}
}
