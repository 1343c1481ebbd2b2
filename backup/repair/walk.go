package repair

import (
	"context"
	"errors"
	"fmt"
	"path"

	"github.com/cairn-backup/cairn/internal/digest"
	"github.com/cairn-backup/cairn/internal/repo"
	"github.com/cairn-backup/cairn/manifest"
)

// run is the state of one Snapshots call.
type run struct {
	r     *repo.Repo
	saver manifest.BlobSaver
	clean map[digest.ID]bool // directory nodes found whole, with all they need
	res   *SnapshotsResult

	snap                 digest.ID // the snapshot being walked
	lostFiles, lostBytes uint64
}

// dir returns the directory node tree (Merkle root root) at path p without the lost
// files below it: its new root and node, and whether anything changed. A node that
// cannot be read becomes an empty directory.
func (rn *run) dir(ctx context.Context, p string, tree, root digest.ID, depth int) (digest.ID, digest.ID, bool, error) {
	if tree.IsZero() || rn.clean[tree] {
		return root, tree, false, nil
	}
	if depth > manifest.MaxDepth {
		return rn.lostDir(ctx, p, fmt.Errorf("nested deeper than %d: %w", manifest.MaxDepth, manifest.ErrCorrupt))
	}
	n, err := manifest.ReadDir(ctx, rn.r, tree, root)
	if err != nil {
		if !lostData(err) {
			return root, tree, false, err
		}
		return rn.lostDir(ctx, p, err)
	}
	entries := make([]manifest.Entry, 0, len(n.Entries))
	changed := false
	for _, e := range n.Entries {
		ep := path.Join(p, e.Name)
		switch e.Type {
		case manifest.Dir:
			sroot, sblob, ch, err := rn.dir(ctx, ep, e.Subtree, e.Content, depth+1)
			if err != nil {
				return root, tree, false, err
			}
			e.Content, e.Subtree = sroot, sblob
			changed = changed || ch
		case manifest.File:
			if err := rn.file(ctx, &e); err != nil {
				if !lostData(err) {
					return root, tree, false, err
				}
				rn.lose(ep, false, err)
				rn.lostFiles++
				rn.lostBytes += e.Size
				changed = true
				continue
			}
		}
		entries = append(entries, e)
	}
	if !changed {
		rn.clean[tree] = true
		return root, tree, false, nil
	}
	nroot, nblob, err := manifest.WriteDir(ctx, rn.saver, entries)
	return nroot, nblob, true, err
}

// lostDir records the directory at p as lost and returns an empty directory.
func (rn *run) lostDir(ctx context.Context, p string, why error) (digest.ID, digest.ID, bool, error) {
	rn.lose(p, true, why)
	root, blob, err := manifest.WriteDir(ctx, rn.saver, nil)
	return root, blob, true, err
}

// file checks that every chunk of e is in a pack the storage has.
func (rn *run) file(ctx context.Context, e *manifest.Entry) error {
	chunks, err := manifest.ReadChunks(ctx, rn.r, e)
	if err != nil {
		return err
	}
	for _, c := range chunks {
		if !rn.r.Usable(repo.DataBlob, c.ID) {
			return fmt.Errorf("chunk %s: %w", c.ID.Short(), repo.ErrBlobNotFound)
		}
	}
	return nil
}

func (rn *run) lose(p string, dir bool, why error) {
	rn.res.Lost = append(rn.res.Lost, Lost{Snapshot: rn.snap, Path: p, Dir: dir, Err: why})
}

// lostData tells lost or damaged repository data (the snapshot is repaired without
// it) from a failure to reach the repository (the run stops).
func lostData(err error) bool {
	return repo.IsMissing(err) || repo.IsDamage(err) || errors.Is(err, manifest.ErrCorrupt)
}
