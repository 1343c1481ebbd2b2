package verify

import (
	"context"
	"fmt"
	"strings"

	"github.com/cairn-backup/cairn/internal/digest"
	"github.com/cairn-backup/cairn/internal/repo"
)

// A pack listed and gone when read was deleted meanwhile. Prune may do that (after its
// grace period, which a long verify can outlast; docs/prune.md) to a pack no snapshot
// uses: a marked pack verify reads anyway, or the pack of a snapshot that forget
// removed after verify listed the snapshots. It may also delete a pack a snapshot
// still standing uses by verify's index: a blob stored twice (two backups stored the
// same data at once) resolves in verify's index to one copy, and prune may have chosen
// the other. None of these is damage. A pack a standing snapshot needs, with no other
// copy of what it needs from it, is: prune listed that snapshot and must have kept it.

// judgeVanished records as damage the packs that were listed and gone when read, and
// the packs a prune deleted before the listing (judgeMissing), if a snapshot that still
// stands needs them or the walk did not finish. A pack only snapshots forgotten since
// the listing used is a warning, as is one every blob of which that the standing
// snapshots use is in another pack the storage still has; one no snapshot used is
// listed among the unused packs, as before.
func (v *run) judgeVanished(ctx context.Context, f *fetcher, walked bool) error {
	suspects := append(f.vanishedUsed(walked), v.prunedUsed(walked)...)
	if len(suspects) == 0 {
		return nil
	}
	if !walked {
		v.packsLost(suspects)
		return nil
	}
	live, gone, err := v.standing(ctx)
	if err != nil {
		return err
	}
	used, err := v.usedBy(ctx, live, suspects)
	if err != nil {
		return err
	}
	copied, err := v.copiedElsewhere(ctx, used, f)
	if err != nil {
		return err
	}
	names := make([]string, len(gone))
	for i, id := range gone {
		names[i] = id.Short()
	}
	for _, id := range suspects {
		_, needed := used[id]
		switch {
		case needed && copied[id]:
			v.rec.warning(PackPruned, "pack "+id.Short(), fmt.Sprintf(
				"pack %s was deleted while verify ran; every blob the standing snapshots use from it is in another pack the storage has", id))
		case needed || len(gone) == 0:
			v.packsLost([]digest.ID{id})
		default:
			v.rec.warning(Forgotten, "pack "+id.Short(), fmt.Sprintf(
				"pack %s was deleted while verify ran: only snapshots forgotten meanwhile (%s) used it, and a prune removed it",
				id, strings.Join(names, ", ")))
		}
	}
	return nil
}

// vanishedUsed returns the packs that vanished and a walked snapshot uses (all that
// vanished if the walk did not finish).
func (f *fetcher) vanishedUsed(walked bool) []digest.ID {
	used, _ := f.packs.split(f.vanished, walked)
	return used
}

// packsLost records the packs ids as damage: gone from the storage and needed.
func (v *run) packsLost(ids []digest.ID) {
	for _, id := range ids {
		detail := fmt.Sprintf("pack %s vanished from the storage", id)
		if !v.packs.listed(id) {
			detail = v.missingDetail(id)
		}
		v.rec.problem(PackMissing, "pack "+id.Short(), detail)
	}
}

// standing lists the snapshots and the state objects again and splits the walked
// snapshots into those that still stand and those forget removed (or is removing)
// since verify listed them. Forget records a snapshot as forgotten before it deletes
// its record; a record replaced by tag stands for the record that replaced it. A
// record gone without either stands: the history check reports it next time.
func (v *run) standing(ctx context.Context) ([]repo.Snapshot, []digest.ID, error) {
	ids, err := v.r.Snapshots(ctx)
	if err != nil && !repo.IsDamage(err) {
		return nil, nil, fmt.Errorf("list snapshots again: %w", err)
	}
	st, err := v.r.LoadState(ctx)
	if err != nil {
		return nil, nil, fmt.Errorf("load state again: %w", err)
	}
	present := make(map[digest.ID]bool, len(ids))
	for _, id := range ids {
		present[id] = true
	}
	var live []repo.Snapshot
	var gone []digest.ID
	for _, s := range v.snaps {
		end := st.Resolve(s.ID, func(id digest.ID) bool { return present[id] })
		if st.Forgotten[s.ID] || st.Forgotten[end] {
			gone = append(gone, s.ID)
		} else {
			live = append(live, s)
		}
	}
	return live, gone, nil
}

// usedBy returns, for each of the packs suspects that the snapshots live use by the
// index verify loaded, the blobs they use from it, walking their trees again (prune's
// walk, repo.UsedBlobs). If a tree cannot be read, every suspect counts as used, with
// its blobs unknown (nil): unknown is never "unused".
func (v *run) usedBy(ctx context.Context, live []repo.Snapshot, suspects []digest.ID) (map[digest.ID]map[blobKey]bool, error) {
	out := map[digest.ID]map[blobKey]bool{}
	used, err := v.r.UsedBlobs(ctx, live)
	if err != nil {
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		for _, id := range suspects {
			out[id] = nil
		}
		return out, nil
	}
	want := make(map[digest.ID]bool, len(suspects))
	for _, id := range suspects {
		want[id] = true
	}
	for b := range used {
		if loc, ok := v.r.Lookup(b.Type, b.ID); ok && want[loc.Pack] {
			if out[loc.Pack] == nil {
				out[loc.Pack] = map[blobKey]bool{}
			}
			out[loc.Pack][blobKey{b.Type, b.ID}] = true
		}
	}
	return out, nil
}
