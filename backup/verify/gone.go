package verify

import (
	"context"
	"fmt"

	"github.com/cairn-backup/cairn/internal/digest"
)

// judgeMissing reports the indexed packs the listing lacks. A backup that lost a pack
// stores its blobs again in a new one (docs/prune.md, "What a backup does") and the
// index then names both copies; a restore reads the one in the pack the storage has.
// So, when packs are missing, verify first rebuilds the index to resolve each blob as
// a restore does, and then a pack every blob of which is stored again elsewhere is a
// warning; one with a blob found nowhere else is damage, and the walk names the files
// that need it.
//
// A prune running beside verify may have rewritten the index without a pack and
// deleted it between verify's load of the index and its listing of data/ (prune steps
// 10 and 11). Such a pack no segment listed now names; it is judged after the walk,
// as a pack that vanished when read is (judgeVanished). A pack a segment still names
// is lost: damage.
func (v *run) judgeMissing(ctx context.Context) error {
	missing := v.packs.missing()
	if len(missing) == 0 {
		return nil
	}
	alone, err := v.r.PreferListed(ctx, v.packs.listed)
	if ctx.Err() != nil {
		return ctx.Err()
	}
	var lost []digest.ID
	for _, id := range missing {
		if n, ok := alone[id]; err == nil && ok && n == 0 {
			v.rec.warning(PackGone, "pack "+id.Short(), fmt.Sprintf("pack %s is gone; every blob it held is stored again elsewhere; `cairn repair index` drops its entries", id))
			continue
		}
		lost = append(lost, id)
	}
	if len(lost) == 0 {
		return nil
	}
	named, nerr := v.r.PacksIndexedNow(ctx, lost)
	if ctx.Err() != nil {
		return ctx.Err()
	}
	for _, id := range lost {
		if nerr == nil && !named[id] {
			v.pruned = append(v.pruned, id)
			continue
		}
		detail := v.missingDetail(id)
		if err != nil {
			detail += fmt.Sprintf(" (copies of its blobs elsewhere could not be looked for: %v)", err)
		}
		if nerr != nil {
			detail += fmt.Sprintf(" (whether a prune deleted it meanwhile could not be told: %v)", nerr)
		}
		v.rec.problem(PackMissing, "pack "+id.Short(), detail)
	}
	return nil
}

func (v *run) missingDetail(id digest.ID) string {
	info, _ := v.packs.get(id)
	return fmt.Sprintf("pack %s (%d bytes) is indexed but not in the storage", id, info.indexed)
}

// prunedUsed warns of the packs a prune deleted between verify's load of the index and
// its listing of data/ that no walked snapshot uses, and returns the others (all of
// them if the walk did not finish: unknown is never unused).
func (v *run) prunedUsed(walked bool) []digest.ID {
	used, unused := v.packs.split(v.pruned, walked)
	for _, id := range unused {
		v.rec.warning(PackPruned, "pack "+id.Short(), fmt.Sprintf(
			"pack %s was deleted by a prune while verify ran: the index verify loaded named it, no index segment names it now, and no snapshot uses it", id))
	}
	return used
}
