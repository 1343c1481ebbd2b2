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
// removed after verify listed the snapshots. Neither is damage. A pack that a
// snapshot still standing uses is: prune listed that snapshot and must have kept it.

// judgeVanished records as damage the packs that were listed and gone when read, if a
// snapshot that still stands uses them or the walk did not finish. A pack that only
// snapshots forgotten since the listing used is a warning; one no snapshot used is
// listed among the unused packs, as before.
func (v *run) judgeVanished(ctx context.Context, f *fetcher, walked bool) error {
	suspects := f.vanishedUsed(walked)
	if len(suspects) == 0 || !walked {
		v.packsVanished(suspects)
		return nil
	}
	live, gone, err := v.standing(ctx)
	if err != nil {
		return err
	}
	if len(gone) == 0 {
		v.packsVanished(suspects)
		return nil
	}
	damaged, err := v.usedBy(ctx, live, suspects)
	if err != nil {
		return err
	}
	names := make([]string, len(gone))
	for i, id := range gone {
		names[i] = id.Short()
	}
	for _, id := range suspects {
		if damaged[id] {
			v.packsVanished([]digest.ID{id})
			continue
		}
		v.rec.warning(Forgotten, "pack "+id.Short(), fmt.Sprintf(
			"pack %s was deleted while verify ran: only snapshots forgotten meanwhile (%s) used it, and a prune removed it",
			id, strings.Join(names, ", ")))
	}
	return nil
}

// vanishedUsed returns the packs that vanished and a walked snapshot uses (all that
// vanished if the walk did not finish).
func (f *fetcher) vanishedUsed(walked bool) []digest.ID {
	f.packs.mu.Lock()
	defer f.packs.mu.Unlock()
	var out []digest.ID
	for _, id := range f.vanished {
		if !walked || f.packs.used[id] {
			out = append(out, id)
		}
	}
	return out
}

func (v *run) packsVanished(ids []digest.ID) {
	for _, id := range ids {
		v.rec.problem(PackMissing, "pack "+id.Short(), fmt.Sprintf("pack %s vanished from the storage", id))
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

// usedBy returns which of the packs suspects the snapshots live use, by the index
// verify loaded, walking their trees again (prune's walk, repo.UsedBlobs). If a tree
// cannot be read, every suspect counts as used: unknown is never "unused".
func (v *run) usedBy(ctx context.Context, live []repo.Snapshot, suspects []digest.ID) (map[digest.ID]bool, error) {
	out := map[digest.ID]bool{}
	used, err := v.r.UsedBlobs(ctx, live)
	if err != nil {
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		for _, id := range suspects {
			out[id] = true
		}
		return out, nil
	}
	want := make(map[digest.ID]bool, len(suspects))
	for _, id := range suspects {
		want[id] = true
	}
	for b := range used {
		if loc, ok := v.r.Lookup(b.Type, b.ID); ok && want[loc.Pack] {
			out[loc.Pack] = true
		}
	}
	return out, nil
}
