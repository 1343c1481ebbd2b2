package repo

import (
	"context"
	"errors"
	"fmt"
	"sync"

	"github.com/cairn-backup/cairn/internal/digest"
	"github.com/cairn-backup/cairn/internal/index"
	"github.com/cairn-backup/cairn/remote"
)

// A prune writes its new index segments, without the packs it is about to delete,
// before it deletes those packs and the segments it replaced (docs/prune.md, steps 10
// and 11). So the index as the storage holds it now, not as a long run loaded it,
// tells a pack a prune deleted meanwhile (no segment names it any more) from a lost
// one (still named, until `repair index` drops it), and where else a blob is stored.

// IndexedNow lists index/ again, reads every segment listed (a cached copy where there
// is one: segments are immutable) and returns the blobs, with their packs, for which
// keep returns true; keep is called from several goroutines. A segment listed and gone
// when read (a prune replaced it meanwhile) makes it list again, as LoadIndex does. A
// failed listing or a segment that does not load fails it: what the index names is
// then unknown.
func (r *Repo) IndexedNow(ctx context.Context, keep func(Blob) bool) ([]Blob, error) {
	for attempt := 1; ; attempt++ {
		out, err := r.indexedOnce(ctx, keep)
		if err == nil {
			return out, nil
		}
		if attempt == indexAttempts || !errors.Is(err, remote.ErrNotFound) {
			return nil, fmt.Errorf("read the index again: %w", err)
		}
	}
}

func (r *Repo) indexedOnce(ctx context.Context, keep func(Blob) bool) ([]Blob, error) {
	ids, err := r.listIDs(ctx, remote.Index)
	if err != nil {
		return nil, err
	}
	var (
		mu  sync.Mutex
		out []Blob
	)
	err = r.eachSegment(ctx, ids, func(_ context.Context, _ digest.ID, seg *index.Segment) error {
		var found []Blob
		for _, p := range seg.Packs {
			for _, b := range p.Blobs {
				if bl := (Blob{Type: b.Type, ID: b.ID, Pack: p.ID, Offset: b.Offset, Length: b.Length}); keep(bl) {
					found = append(found, bl)
				}
			}
		}
		mu.Lock()
		defer mu.Unlock()
		out = append(out, found...)
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// PacksIndexedNow returns which of packs an index segment listed now names
// (IndexedNow).
func (r *Repo) PacksIndexedNow(ctx context.Context, packs []digest.ID) (map[digest.ID]bool, error) {
	want := make(map[digest.ID]bool, len(packs))
	for _, p := range packs {
		want[p] = true
	}
	blobs, err := r.IndexedNow(ctx, func(b Blob) bool { return want[b.Pack] })
	if err != nil {
		return nil, err
	}
	named := map[digest.ID]bool{}
	for _, b := range blobs {
		named[b.Pack] = true
	}
	return named, nil
}
