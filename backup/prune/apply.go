package prune

import (
	"context"
	"fmt"

	"github.com/cairn-backup/cairn/internal/crash"
	"github.com/cairn-backup/cairn/internal/digest"
)

// apply carries out a plan (docs/prune.md steps 8 to 11): marks first, then the index
// without the packs about to go, then the packs, then the records nobody needs.
func (p *run) apply(ctx context.Context, plan *Plan, in Input) error {
	repacked, err := p.repack(ctx, plan)
	if err != nil {
		return err
	}
	toMark := append(plan.Packs(MarkIt), repacked...)
	var markID digest.ID
	if len(toMark) > 0 {
		id, err := p.r.SaveMark(ctx, p.opts.Grace, toMark)
		if err != nil {
			return err
		}
		markID, p.res.Marked = id, len(toMark)
		crash.Point("prune-marked")
	}
	del := plan.Packs(Delete)
	if len(toMark) > 0 {
		now, err := p.atOnce(ctx)
		if err != nil {
			return err
		}
		if now {
			del, p.res.AtOnce = append(del, toMark...), true
		}
	}
	drop := make(map[digest.ID]bool, len(del)+len(plan.Forget))
	for _, id := range append(del, plan.Forget...) {
		drop[id] = true
	}
	if segs := p.segmentsNaming(drop); len(segs) > 0 {
		if err := p.r.RewriteIndex(ctx, segs, drop); err != nil {
			return err
		}
		p.res.Segments = len(segs)
	}
	crash.Point("prune-index-rewritten")
	half := len(del) / 2
	if err := p.r.DeletePacks(ctx, del[:half]); err != nil {
		return err
	}
	crash.Point("prune-mid-delete")
	if err := p.r.DeletePacks(ctx, del[half:]); err != nil {
		return err
	}
	del = p.notKept(del)
	p.res.Deleted = del
	for _, id := range del {
		p.res.Freed += in.Packs[id].Size
	}
	done := plan.DoneMark
	if p.res.AtOnce {
		done = append(done, markID)
	}
	return p.tidy(ctx, done)
}

// atOnce reports whether the packs this run marked may be deleted now: no other run
// note younger than the grace period is listed after the mark was written, and no
// snapshot appeared since the prune listed them (docs/prune.md, "Deleting at once").
func (p *run) atOnce(ctx context.Context) (bool, error) {
	notes, err := p.r.RunningNotes(ctx)
	if err != nil {
		return false, err
	}
	for _, n := range notes {
		if n.Name != p.note.Name() && p.now.Sub(n.ModTime) < p.opts.Grace {
			return false, nil
		}
	}
	ids, err := p.r.Snapshots(ctx)
	if err != nil {
		return false, fmt.Errorf("list snapshots again: %w", err)
	}
	known := make(map[digest.ID]bool, len(p.snaps))
	for _, s := range p.snaps {
		known[s.ID] = true
	}
	for _, id := range ids {
		if !known[id] {
			return false, nil
		}
	}
	return true, nil
}

// segmentsNaming returns the index segments that name a pack in drop.
func (p *run) segmentsNaming(drop map[digest.ID]bool) []digest.ID {
	var out []digest.ID
	for _, seg := range p.segs {
		for _, pk := range p.segOf[seg] {
			if drop[pk] {
				out = append(out, seg)
				break
			}
		}
	}
	return out
}

// tidy removes mark records none of whose packs exists, and run notes and temporary
// files older than the grace period (a crashed run's).
func (p *run) tidy(ctx context.Context, marks []digest.ID) error {
	for _, id := range marks {
		if err := p.r.DeleteMark(ctx, id); err != nil {
			return err
		}
	}
	notes, err := p.r.RunNotes(ctx)
	if err != nil {
		return err
	}
	for _, n := range notes {
		if n.Name != p.note.Name() && p.now.Sub(n.ModTime) >= p.opts.Grace {
			if err := p.r.DeleteRunNote(ctx, n.Name); err != nil {
				return err
			}
		}
	}
	return p.removeTemp(ctx)
}

// notKept leaves out of del the packs their locks kept (a later prune after the date
// finds them unreferenced and removes them).
func (p *run) notKept(del []digest.ID) []digest.ID {
	kept := map[string]bool{}
	for _, k := range p.r.KeptByLocks() {
		kept[k.String()] = true
	}
	if len(kept) == 0 {
		return del
	}
	out := del[:0:0]
	for _, id := range del {
		if !kept["data/"+id.String()] {
			out = append(out, id)
		}
	}
	return out
}
