package repo

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/cairn-backup/cairn/internal/digest"
	"golang.org/x/sync/errgroup"
)

// ErrOverGrace: a backup ran longer than a prune's grace period and relied on data
// that prune has since marked; its snapshot cannot stand.
var ErrOverGrace = errors.New("the backup ran longer than the prune grace period, and a prune has since marked data it reuses")

// MinGrace is the shortest grace period a prune deletes with (prune --grace): longer
// than the storage's time resolution (a second on S3) with room to spare
// (docs/prune.md).
const MinGrace = 10 * time.Second

// graceMargin is taken off a grace period for the upload time of a mark record and the
// drift between the storage's clock and ours over one period (docs/prune.md).
const graceMargin = time.Minute

// marginOf is the margin taken off grace: a minute, or a tenth of a shorter grace
// period (a margin above the grace itself would make every backup that reuses newly
// marked data give up).
func marginOf(grace time.Duration) time.Duration { return min(graceMargin, grace/10) }

// shortRun: a check after writing that starts sooner than this after the backup
// listed marks lists marks and packs at once. No prune can have deleted a pack the
// backup reuses through a grace period by then (every prune waits MinGrace at least
// after its mark), and a prune deleting at once saw the run note, stored before the
// backup listed marks, or wrote its mark before that listing (docs/prune.md, "Which
// requests may go side by side").
var shortRun = MinGrace - marginOf(MinGrace)

// CheckReuse is the backup's check after writing snapshot snap (docs/prune.md, backup
// step 4): if a prune marked packs since this process listed marks, and this process
// has run longer than that prune's grace period, every blob snap uses must lie outside
// the newly marked packs, and outside the packs deleted since: those it reused and
// those it wrote. It returns ErrOverGrace otherwise; packs it wrote that are gone are
// also taken out of the index segments it wrote (own.go). Every new mark record counts,
// whatever the elapsed time, when the note was sent again.
func (r *Repo) CheckReuse(ctx context.Context, snap Snapshot) error {
	s := r.stored
	if s == nil || s.marks == nil {
		return nil
	}
	if s.note != nil {
		// Whether the note was stored on its first PUT decides which marks count.
		if err := s.note.Confirm(ctx); err != nil {
			return err
		}
	}
	elapsed := time.Since(s.listedAt)
	late := r.noteLate.Load()
	marks, packs, err := r.listAfterWriting(ctx, late || elapsed >= shortRun)
	if err != nil {
		return err
	}
	marked := map[digest.ID]bool{}  // packs gone, or marked over a grace period
	atStart := map[digest.ID]bool{} // packs marked while the note was not stored
	for id := range s.keep {
		if _, ok := packs[id]; !ok {
			marked[id] = true
		}
	}
	wrote := s.own.gone(packs) // packs it wrote, gone: a prune took them for leftovers
	for _, m := range marks {
		switch {
		case s.marks[m.ID]:
		case elapsed >= m.Grace-marginOf(m.Grace):
			addAll(marked, m.Packs)
		case late:
			addAll(atStart, m.Packs)
		}
	}
	if len(marked)+len(atStart)+len(wrote) == 0 {
		return nil
	}
	if err := r.dropLost(ctx, wrote); err != nil {
		return err
	}
	return r.usesNone(ctx, snap, marked, atStart, wrote)
}

// CheckReuseAgain is CheckReuse after the snapshot record was found missing by its
// check and sent again. The run note may have been deleted before the record was
// stored, so that a prune deleting at once saw neither: every mark record new since
// the first listing counts, whatever the elapsed time, as when the note was stored
// late.
func (r *Repo) CheckReuseAgain(ctx context.Context, snap Snapshot) error {
	r.noteLate.Store(true)
	return r.CheckReuse(ctx, snap)
}

// listAfterWriting lists marks and packs: marks first when ordered, so that a pack
// deleted with its mark record is seen gone (a prune deletes the pack first).
func (r *Repo) listAfterWriting(ctx context.Context, ordered bool) ([]MarkRecord, map[digest.ID]PackInfo, error) {
	var (
		marks []MarkRecord
		packs map[digest.ID]PackInfo
	)
	if ordered {
		var err error
		if marks, err = r.LoadMarks(ctx); err == nil {
			packs, err = r.PackInfos(ctx)
		}
		return marks, packs, err
	}
	g, gctx := errgroup.WithContext(ctx)
	g.Go(func() (err error) { marks, err = r.LoadMarks(gctx); return err })
	g.Go(func() (err error) { packs, err = r.PackInfos(gctx); return err })
	err := g.Wait()
	return marks, packs, err
}

// usesNone returns ErrOverGrace when snap uses a blob that lies in a pack of marked,
// of atStart (marked as the run began, while a prune may not have seen it), or of
// wrote (written by this run and deleted since).
func (r *Repo) usesNone(ctx context.Context, snap Snapshot, marked, atStart, wrote map[digest.ID]bool) error {
	used, err := r.UsedBlobs(ctx, []Snapshot{snap})
	if err != nil {
		return err
	}
	for b := range used {
		loc, ok := r.Lookup(b.Type, b.ID)
		switch {
		case ok && marked[loc.Pack]:
			return fmt.Errorf("%w (blob %s in pack %s)", ErrOverGrace, b.ID.Short(), loc.Pack.Short())
		case ok && atStart[loc.Pack]:
			return fmt.Errorf("%w (here a prune marked it as the backup began, before the storage held its run note: blob %s in pack %s; run the backup again)",
				ErrOverGrace, b.ID.Short(), loc.Pack.Short())
		case ok && wrote[loc.Pack]:
			return fmt.Errorf("%w (pack %s, which this backup wrote, was deleted as a leftover while the backup was stopped; run it again)",
				ErrOverGrace, loc.Pack.Short())
		}
	}
	return nil
}

func addAll(set map[digest.ID]bool, ids []digest.ID) {
	for _, id := range ids {
		set[id] = true
	}
}
