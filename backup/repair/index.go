package repair

import (
	"context"
	"fmt"
	"slices"
	"sync"

	"github.com/cairn-backup/cairn/internal/digest"
	"github.com/cairn-backup/cairn/internal/repo"
	"golang.org/x/sync/errgroup"
)

// IndexOptions configure Index.
type IndexOptions struct {
	DryRun bool // report what would be done, write nothing
}

// IndexResult is what Index found and did.
type IndexResult struct {
	DryRun          bool
	Packs           int         // packs the storage listed
	Indexed         int         // packs the new index names
	Blobs           int         // blobs it lists
	Added           []digest.ID // packs no readable old segment named
	Dropped         []digest.ID // packs the old index named that the storage lacks
	DamagedPacks    []error     // packs whose header does not open: left out, not deleted
	DamagedSegments []error     // old segments that could not be read
	OldSegments     int         // segments replaced (deleted)
	NewSegments     int         // segments written
}

// segmentReaders bounds the old segments read at once.
const segmentReaders = 4

// Index rebuilds the index from the packs' headers and replaces every index segment
// by it (see the package documentation for why that is safe to kill and rerun).
func Index(ctx context.Context, r *repo.Repo, opts IndexOptions) (*IndexResult, error) {
	res := &IndexResult{DryRun: opts.DryRun}
	segs, bad, err := r.IndexSegments(ctx) // before the packs: see the package doc
	if err != nil {
		return nil, err
	}
	res.DamagedSegments = bad
	named, err := oldPacks(ctx, r, segs, res)
	if err != nil {
		return nil, err
	}
	sizes, _, err := r.ListPacks(ctx)
	if err != nil {
		return nil, err
	}
	res.Packs = len(sizes)
	var headers []repo.PackHeader
	err = r.ReadPackHeaders(ctx, sizes, func(h repo.PackHeader) {
		switch {
		case h.Err == nil:
			headers = append(headers, h)
		case repo.IsDamage(h.Err):
			res.DamagedPacks = append(res.DamagedPacks, h.Err)
		} // else gone meanwhile: nothing to index
	})
	if err != nil {
		return nil, fmt.Errorf("repair index: %w", err)
	}
	slices.SortFunc(headers, func(a, b repo.PackHeader) int { return compareIDs(a.ID, b.ID) })
	for _, h := range headers {
		res.Indexed++
		res.Blobs += h.Blobs
		if !named[h.ID] {
			res.Added = append(res.Added, h.ID)
		}
	}
	for id := range named {
		if _, ok := sizes[id]; !ok {
			res.Dropped = append(res.Dropped, id)
		}
	}
	slices.SortFunc(res.Dropped, compareIDs)
	res.OldSegments = len(segs)
	if opts.DryRun {
		return res, nil
	}
	written, err := r.ReplaceIndex(ctx, segs, headers)
	res.NewSegments = len(written)
	return res, err
}

// oldPacks reads the segments segs and returns the packs they name; damaged segments
// go to res.DamagedSegments, and a segment gone meanwhile names nothing.
func oldPacks(ctx context.Context, r *repo.Repo, segs []digest.ID, res *IndexResult) (map[digest.ID]bool, error) {
	var mu sync.Mutex
	named := map[digest.ID]bool{}
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(segmentReaders)
	for _, id := range segs {
		g.Go(func() error {
			packs, err := r.SegmentPacks(gctx, id)
			mu.Lock()
			defer mu.Unlock()
			switch {
			case repo.IsIndexDamage(err):
				res.DamagedSegments = append(res.DamagedSegments, fmt.Errorf("index segment %s: %w", id.Short(), err))
				return nil
			case err != nil:
				return err
			}
			for _, p := range packs {
				named[p] = true
			}
			return nil
		})
	}
	return named, g.Wait()
}

func compareIDs(a, b digest.ID) int { return slices.Compare(a[:], b[:]) }
