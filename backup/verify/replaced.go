package verify

import (
	"fmt"

	"github.com/cairn-backup/cairn/internal/digest"
	"github.com/cairn-backup/cairn/internal/repo"
)

// Tag replaces a snapshot record by a new one with other tags, and records old → new
// in a state object (repo.ReplaceSnapshots): the snapshot after it still names the
// old id as Previous, and the chain reaches the snapshot through the replacement. A
// replaced record is not missing, it moved; a replacement whose new record is missing
// is a gap like any other.

// resolve follows replacements from id to the record that stands for it now.
func (h history) resolve(id digest.ID) digest.ID {
	st := repo.State{Replaced: h.replaced}
	return st.Resolve(id, func(x digest.ID) bool { return h.listed[x] })
}

// pending reports, with a note, a record that was replaced and whose replacement is
// present: a tag killed before it deleted the old record. It is harmless: the two
// records are the same snapshot.
func (h history) pending(id digest.ID, rec *recorder) bool {
	next, ok := h.replaced[id]
	if !ok {
		return false
	}
	end := h.resolve(next)
	if !h.listed[end] {
		return false
	}
	rec.warning(Replaced, "snapshot "+id.Short(),
		fmt.Sprintf("tag replaced it by %s, which is present; its own record was not yet deleted (run the tag command again)", end.Short()))
	return true
}

// checkReplacements reports replacements whose new record is gone, unless forget
// removed it on purpose.
func checkReplacements(h history, rec *recorder) {
	for old, next := range h.replaced {
		if h.listed[old] || h.forgotten[old] {
			continue
		}
		end := h.resolve(next)
		if h.listed[end] || h.forgotten[end] {
			continue
		}
		rec.problem(ChainBroken, "snapshot "+end.Short(),
			fmt.Sprintf("it replaced snapshot %s (tag) and is missing: the history has a gap", old.Short()))
	}
}

// sameSnapshot reports two records of one backup that differ only in their labels.
func sameSnapshot(a, b repo.Snapshot) bool {
	return a.Time.Equal(b.Time) && a.Root == b.Root && a.Tree == b.Tree && ptrEqual(a.Previous, b.Previous)
}

func ptrEqual(a, b *digest.ID) bool {
	return (a == nil && b == nil) || (a != nil && b != nil && *a == *b)
}
