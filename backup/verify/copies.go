package verify

import (
	"context"

	"github.com/cairn-backup/cairn/internal/digest"
	"github.com/cairn-backup/cairn/internal/repo"
)

// copiedElsewhere returns which packs of used (packs gone from the storage, with the
// blobs the standing snapshots need from them) have every one of those blobs in
// another pack too: one that an index segment listed now places it in, that a listing
// of data/ taken now holds, and that did not go while verify ran. Verify's index keeps
// one location per blob; prune, choosing among the copies (docs/prune.md, step 6), may
// have kept the other. A pack whose blobs are unknown (nil), or in which the walk found
// a bad blob (a node it could not read: what lies under it went unchecked), is never
// copied. If the storage cannot be asked, nothing is.
func (v *run) copiedElsewhere(ctx context.Context, used map[digest.ID]map[blobKey]bool, f *fetcher) (map[digest.ID]bool, error) {
	want := map[blobKey]bool{}
	for p, blobs := range used {
		if blobs != nil && !v.rec.badIn(p) {
			for b := range blobs {
				want[b] = true
			}
		}
	}
	if len(want) == 0 {
		return nil, nil
	}
	now, _, err := v.r.ListPackInfos(ctx)
	if err != nil {
		return nil, ctx.Err()
	}
	gone := v.goneMeanwhile(f)
	copies, err := v.r.IndexedNow(ctx, func(b repo.Blob) bool {
		_, there := now[b.Pack]
		return there && !gone[b.Pack] && want[blobKey{b.Type, b.ID}]
	})
	if err != nil {
		return nil, ctx.Err()
	}
	have := make(map[blobKey]bool, len(copies))
	for _, b := range copies {
		have[blobKey{b.Type, b.ID}] = true
	}
	out := map[digest.ID]bool{}
	for p, blobs := range used {
		if blobs == nil || v.rec.badIn(p) {
			continue
		}
		all := true
		for b := range blobs {
			all = all && have[b]
		}
		out[p] = all
	}
	return out, nil
}

// goneMeanwhile returns the packs that vanished when read or that a prune deleted
// before the listing.
func (v *run) goneMeanwhile(f *fetcher) map[digest.ID]bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	gone := make(map[digest.ID]bool, len(f.vanished)+len(v.pruned))
	for _, id := range f.vanished {
		gone[id] = true
	}
	for _, id := range v.pruned {
		gone[id] = true
	}
	return gone
}
