package prune

import (
	"context"
	"fmt"

	"github.com/cairn-backup/cairn/internal/crash"
	"github.com/cairn-backup/cairn/internal/digest"
	"github.com/cairn-backup/cairn/internal/repo"
)

// repack copies the used blobs of the packs classed Repack into new packs, with their
// index segment, before anything else changes (docs/prune.md step 8): a prune stopped
// after it has only added duplicates. It returns the packs emptied of used blobs,
// which are then marked like unneeded ones.
func (p *run) repack(ctx context.Context, plan *Plan) ([]digest.ID, error) {
	packs := plan.Packs(Repack)
	if len(packs) == 0 {
		return nil, nil
	}
	// Only packs that stay count as storing a blob already: a copy of it in a pack about
	// to be marked or deleted is no copy at all.
	replacing := make(map[digest.ID]bool, len(plan.Class))
	for id, c := range plan.Class {
		if c != Keep {
			replacing[id] = true
		}
	}
	w := p.r.NewWriter(ctx, repo.WriterOptions{Replacing: replacing})
	blobs := make([]repo.Blob, len(plan.Copy))
	for i, e := range plan.Copy {
		blobs[i] = repo.Blob{Type: e.Blob.Type, ID: e.Blob.ID, Pack: e.Pack, Offset: uint32(e.Offset), Length: e.Length}
	}
	// Each blob goes into its new pack as it is stored: authenticated and hash-checked
	// by CopyBlob, never decompressed for good or compressed again (that was most of a
	// repack's CPU). One worker hands the blobs over one at a time, and CopyBlob keeps
	// none: one buffer serves them all.
	var buf []byte
	reuse := func(n int) []byte {
		if cap(buf) < n {
			buf = make([]byte, n)
		}
		return buf[:n]
	}
	err := p.r.ReadBlobs(ctx, blobs, repo.ReadOptions{Workers: 1, Alloc: reuse}, func(b repo.Blob, sealed []byte, err error) error {
		if err != nil {
			return fmt.Errorf("repack: read %s blob %s: %w", b.Type, b.ID.Short(), err)
		}
		if _, err := w.CopyBlob(ctx, b, sealed); err != nil {
			return fmt.Errorf("repack: %s blob %s: %w", b.Type, b.ID.Short(), err)
		}
		return nil
	})
	if err != nil {
		_ = w.Abort(context.WithoutCancel(ctx)) // what was copied stays indexed: duplicates only
		return nil, err
	}
	if err := w.Flush(ctx); err != nil {
		return nil, err
	}
	crash.Point("prune-repacked")
	p.res.Repacked = len(packs)
	return packs, nil
}
