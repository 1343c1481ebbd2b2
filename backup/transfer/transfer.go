// Package transfer copies snapshots from one repository into another, as restic's
// copy: only the blobs the target lacks move, and each snapshot record is stored with
// its exact bytes, so it keeps its id, its Merkle root and its place in the chain.
package transfer

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"

	"github.com/cairn-backup/cairn/internal/digest"
	"github.com/cairn-backup/cairn/internal/repo"
)

// Options tune a copy.
type Options struct {
	Readers int // source packs read at once; 0 means 4
	Uploads int // target packs uploaded at once; 0 means the writer's default
}

// Result says what a copy did.
type Result struct {
	Copied    []digest.ID // snapshots copied, oldest first (the same ids in both)
	Skipped   []digest.ID // snapshots the target already had
	Blobs     int         // blobs stored in the target
	Bytes     int64       // their plaintext bytes
	Reused    int         // blobs the snapshots use that the target already had
	Explained []digest.ID // predecessors not copied, recorded as absent on purpose
}

// Run copies snaps (from src) into dst. Order, as a backup's: the blobs, flushed and
// indexed; then a record of predecessors left behind; then the snapshot records.
// A run killed anywhere leaves at most unreferenced packs; a rerun copies what is left.
func Run(ctx context.Context, src, dst *repo.Repo, snaps []repo.Snapshot, opts Options) (*Result, error) {
	if src.ID() == dst.ID() {
		return nil, errors.New("copy: source and target are the same repository")
	}
	// Reuse only what the target's storage holds and no prune marked (docs/prune.md);
	// the run note lets a prune there see that a writer is at work.
	dst.StoredPacksOnly()
	note, err := dst.StartRun(ctx, "copy")
	if err != nil {
		return nil, err
	}
	defer note.End(context.WithoutCancel(ctx)) //nolint:errcheck // a note left behind only ages
	have, err := snapshotIDs(ctx, dst)
	if err != nil {
		return nil, err
	}
	res := &Result{}
	var todo []repo.Snapshot
	for _, s := range snaps {
		if have[s.ID] {
			res.Skipped = append(res.Skipped, s.ID)
		} else if !containsSnap(todo, s.ID) {
			todo = append(todo, s)
		}
	}
	if len(todo) == 0 {
		return res, nil
	}
	if err := copyBlobs(ctx, src, dst, todo, opts, res); err != nil {
		return res, err
	}
	return res, saveRecords(ctx, src, dst, todo, have, res)
}

func snapshotIDs(ctx context.Context, r *repo.Repo) (map[digest.ID]bool, error) {
	ids, err := r.Snapshots(ctx)
	if ids == nil && err != nil {
		return nil, err
	}
	// A name in snapshots/ that is not an id is no reason not to copy.
	out := make(map[digest.ID]bool, len(ids))
	for _, id := range ids {
		out[id] = true
	}
	return out, nil
}

func containsSnap(snaps []repo.Snapshot, id digest.ID) bool {
	for _, s := range snaps {
		if s.ID == id {
			return true
		}
	}
	return false
}

// copyBlobs stores in dst every blob the snapshots use that dst lacks: read by planned
// reads from src (grouped by pack), opened and checked there, sealed again with
// dst's key. Memory holds one blob per reader plus the writer's open packs.
func copyBlobs(ctx context.Context, src, dst *repo.Repo, todo []repo.Snapshot, opts Options, res *Result) error {
	if err := src.LoadIndex(ctx); err != nil {
		return err
	}
	if err := dst.LoadIndex(ctx); err != nil {
		return err
	}
	used, err := src.UsedBlobs(ctx, todo)
	if err != nil {
		return fmt.Errorf("copy: read the source's trees: %w", err)
	}
	w := dst.NewWriter(ctx, repo.WriterOptions{Uploads: opts.Uploads})
	var need []repo.Blob
	for b := range used {
		if ok, err := w.Has(ctx, b.Type, b.ID); err != nil {
			return err
		} else if ok {
			res.Reused++
			continue
		}
		loc, ok := src.Lookup(b.Type, b.ID)
		if !ok {
			return fmt.Errorf("copy: %s blob %s: %w in the source", b.Type, b.ID.Short(), repo.ErrBlobNotFound)
		}
		need = append(need, loc)
	}
	var blobs, bytes atomic.Int64
	readers := opts.Readers
	if readers <= 0 {
		readers = 4
	}
	err = src.ReadBlobs(ctx, need, repo.ReadOptions{Workers: readers}, func(b repo.Blob, sealed []byte, err error) error {
		if err != nil {
			return fmt.Errorf("copy: read %s blob %s: %w", b.Type, b.ID.Short(), err)
		}
		plain, err := src.OpenSealed(b, sealed, nil)
		if err != nil {
			return fmt.Errorf("copy: %s blob %s: %w", b.Type, b.ID.Short(), err)
		}
		if _, _, err := w.SaveBlob(ctx, b.Type, plain); err != nil {
			return fmt.Errorf("copy: store %s blob %s: %w", b.Type, b.ID.Short(), err)
		}
		blobs.Add(1)
		bytes.Add(int64(len(plain)))
		return nil
	})
	if err == nil {
		err = w.Flush(ctx)
	}
	if err != nil {
		// Index what was uploaded, so that a rerun does not send it again.
		return errors.Join(err, w.Abort(context.WithoutCancel(ctx)))
	}
	res.Blobs, res.Bytes = int(blobs.Load()), bytes.Load()
	return nil
}

// saveRecords writes the snapshot records, oldest first, each with its source bytes.
// A predecessor (Previous) that is neither in dst nor copied now is first recorded in
// dst as absent on purpose (a forgotten-state record), so that verify there reports
// the start of the copied chain as a note, not as a broken chain.
func saveRecords(ctx context.Context, src, dst *repo.Repo, todo []repo.Snapshot, have map[digest.ID]bool, res *Result) error {
	var absent []digest.ID
	for _, s := range todo {
		if p := s.Previous; p != nil && !have[*p] && !containsSnap(todo, *p) && !containsID(absent, *p) {
			absent = append(absent, *p)
		}
	}
	if err := dst.RecordForgotten(ctx, absent); err != nil {
		return err
	}
	res.Explained = absent
	for _, s := range todo {
		rec, err := src.LoadSnapshot(ctx, s.ID)
		if err != nil {
			return fmt.Errorf("copy: snapshot %s: %w", s.ID.Short(), err)
		}
		id, err := dst.SaveSnapshot(ctx, rec)
		if err != nil {
			return fmt.Errorf("copy: snapshot %s: %w", s.ID.Short(), err)
		}
		if id != s.ID {
			return fmt.Errorf("copy: snapshot %s was stored as %s: %w", s.ID.Short(), id.Short(), repo.ErrCorrupt)
		}
		if err := dst.CheckReuse(ctx, s); err != nil {
			// It may point into packs a prune there is about to delete: take it back.
			return errors.Join(err, dst.ForgetSnapshots(context.WithoutCancel(ctx), []digest.ID{id}))
		}
		res.Copied = append(res.Copied, id)
		// The target's client history knows it, so verify can tell a rolled-back one.
		_ = dst.RememberSnapshots([]digest.ID{id})
	}
	return nil
}

func containsID(ids []digest.ID, id digest.ID) bool {
	for _, x := range ids {
		if x == id {
			return true
		}
	}
	return false
}
