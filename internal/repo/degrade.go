package repo

import (
	"context"
	"errors"
	"fmt"

	"github.com/cairn-backup/cairn/internal/digest"
	"github.com/cairn-backup/cairn/internal/index"
)

// Reads degrade instead of failing: LoadIndex skips an index segment it cannot read
// or decode, says so (IndexDamage), and finds the blobs that segment listed by reading
// the headers of the packs no loaded segment names. A restore then restores every
// snapshot as usual (the blobs are found in the packs themselves); a backup stores
// again only what no pack header offers. Prune does not degrade: IndexEntries still
// refuses a damaged segment, for prune must not decide on a partial index.

// IndexDamage returns, once the index is loaded, why LoadIndex skipped index segments
// and, while it looked for their blobs, why it could not read some packs' headers.
// `cairn repair index` rebuilds the index without them.
func (r *Repo) IndexDamage() []error {
	r.damageMu.Lock()
	defer r.damageMu.Unlock()
	return append([]error(nil), r.indexDamage...)
}

func (r *Repo) skipSegment(id digest.ID, err error) {
	r.damageMu.Lock()
	defer r.damageMu.Unlock()
	r.indexDamage = append(r.indexDamage, fmt.Errorf("index segment %s is damaged: %w", id.Short(), err))
}

// scanUnindexed lists the packs and adds to idx the blobs of those no loaded segment
// names, read from their own headers. They are the candidates for the blobs of the
// skipped segments (and, harmlessly, packs a backup uploaded and has not indexed yet).
// Packs set aside for a backup go through the same filter as the segments.
func (r *Repo) scanUnindexed(ctx context.Context, idx *index.Index) error {
	infos, err := r.PackInfos(ctx)
	if err != nil {
		return fmt.Errorf("find the blobs of damaged index segments: %w", err)
	}
	sizes := map[digest.ID]int64{}
	for id, info := range infos {
		if _, ok := idx.PackSize(id); !ok && !r.stored.named(id) {
			sizes[id] = info.Size
		}
	}
	found := &index.Segment{}
	err = r.ReadPackHeaders(ctx, sizes, func(res PackHeader) {
		switch {
		case res.Err == nil:
			found.Packs = append(found.Packs, res.pack)
		case !errors.Is(res.Err, ErrPackMissing): // gone meanwhile: nothing to find there
			r.damageMu.Lock()
			r.indexDamage = append(r.indexDamage, fmt.Errorf("pack header unreadable: %w", res.Err))
			r.damageMu.Unlock()
		}
	})
	if err != nil {
		return fmt.Errorf("find the blobs of damaged index segments: %w", err)
	}
	return idx.AddSegments([]*index.Segment{r.stored.filter(found)})
}
