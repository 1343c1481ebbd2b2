package repo

import (
	"context"
	"fmt"

	"github.com/cairn-backup/cairn/internal/digest"
	"github.com/cairn-backup/cairn/internal/index"
	"golang.org/x/sync/errgroup"
)

// The index keeps one copy of a blob that segments list in several packs: the copy in
// the pack it numbered first. After a backup stored again the blobs of a lost pack,
// both copies are indexed, and verify, which loads the index without asking the
// storage first (LoadIndexReport), may keep the lost one. PreferListed rebuilds that
// index once verify has listed the packs, so that verify reads a blob where a restore
// does (PresentPacksOnly): from a pack the storage has, when there is one.

// PreferListed rebuilds the index LoadIndexReport loaded, from the same segments, with
// the packs listed reports absent added last: a blob indexed in several packs then
// resolves to a copy in a listed pack if there is one, and to a copy in an absent
// pack only if there is none. Absent packs stay indexed (EachPack names them). It
// returns, for every absent pack, how many of its blobs have no copy in a listed pack:
// 0 means a backup stored all of them again. On an error the index is left as it was.
// Call it before anything runs concurrently on r.
func (r *Repo) PreferListed(ctx context.Context, listed func(digest.ID) bool) (map[digest.ID]int, error) {
	idx := r.newIndex()
	absent := &index.Segment{}
	g, gctx := errgroup.WithContext(ctx)
	segs := make(chan *index.Segment, segmentLoaders)
	g.Go(func() error {
		defer close(segs)
		return r.readSegments(gctx, r.segments, segs)
	})
	g.Go(func() error {
		return addBatches(idx, segs, func(seg *index.Segment) *index.Segment {
			out := &index.Segment{Packs: seg.Packs[:0:0]}
			for _, p := range seg.Packs {
				if listed(p.ID) {
					out.Packs = append(out.Packs, p)
				} else {
					absent.Packs = append(absent.Packs, p) // only addBatches's goroutine appends
				}
			}
			return out
		})
	})
	if err := g.Wait(); err != nil {
		return nil, fmt.Errorf("prefer the packs the storage lists: %w", err)
	}
	if err := idx.AddSegments([]*index.Segment{absent}); err != nil {
		return nil, fmt.Errorf("prefer the packs the storage lists: %w", err)
	}
	alone := make(map[digest.ID]int, len(absent.Packs))
	for _, p := range absent.Packs {
		alone[p.ID] += 0
		for _, b := range p.Blobs {
			if loc, ok := idx.Lookup(b.Type, b.ID); !ok || !listed(loc.Pack) {
				alone[p.ID]++
			}
		}
	}
	r.idx = idx
	return alone, nil
}

// readSegments reads, opens and decodes the segments ids in parallel into out, and
// fails on the first that does not load (unlike decodeSegments, which skips damage).
func (r *Repo) readSegments(ctx context.Context, ids []digest.ID, out chan<- *index.Segment) error {
	return r.eachSegment(ctx, ids, func(gctx context.Context, _ digest.ID, seg *index.Segment) error {
		select {
		case out <- seg:
			return nil
		case <-gctx.Done():
			return gctx.Err()
		}
	})
}

// eachSegment reads, opens and decodes the segments ids, segmentLoaders at a time,
// and calls fn with each (from many goroutines at once); it stops at the first error.
func (r *Repo) eachSegment(ctx context.Context, ids []digest.ID, fn func(context.Context, digest.ID, *index.Segment) error) error {
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(segmentLoaders)
	for _, id := range ids {
		g.Go(func() error {
			seg, err := r.loadSegment(gctx, id)
			if err != nil {
				return err
			}
			return fn(gctx, id, seg)
		})
	}
	return g.Wait()
}
