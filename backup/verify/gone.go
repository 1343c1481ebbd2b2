package verify

import (
	"context"
	"fmt"
)

// judgeMissing reports the indexed packs the listing lacks. A backup that lost a pack
// stores its blobs again in a new one (docs/prune.md, "What a backup does") and the
// index then names both copies; a restore reads the one in the pack the storage has.
// So, when packs are missing, verify first rebuilds the index to resolve each blob as
// a restore does, and then a pack every blob of which is stored again elsewhere is a
// warning; one with a blob found nowhere else is damage, and the walk names the files
// that need it.
func (v *run) judgeMissing(ctx context.Context) error {
	missing := v.packs.missing()
	if len(missing) == 0 {
		return nil
	}
	alone, err := v.r.PreferListed(ctx, v.packs.listed)
	if ctx.Err() != nil {
		return ctx.Err()
	}
	for _, id := range missing {
		info, _ := v.packs.get(id)
		if n, ok := alone[id]; err == nil && ok && n == 0 {
			v.rec.warning(PackGone, "pack "+id.Short(), fmt.Sprintf("pack %s is gone; every blob it held is stored again elsewhere; `cairn repair index` drops its entries", id))
			continue
		}
		detail := fmt.Sprintf("pack %s (%d bytes) is indexed but not in the storage", id, info.indexed)
		if err != nil {
			detail += fmt.Sprintf(" (copies of its blobs elsewhere could not be looked for: %v)", err)
		}
		v.rec.problem(PackMissing, "pack "+id.Short(), detail)
	}
	return nil
}
