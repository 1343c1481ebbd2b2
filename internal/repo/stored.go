package repo

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/cairn-backup/cairn/internal/digest"
	"github.com/cairn-backup/cairn/internal/index"
	"golang.org/x/sync/errgroup"
)

// A backup reuses only blobs whose pack the storage still has and no prune marked
// (docs/prune.md, "What a backup does"; RELIABILITY 5): the index it loads sets the
// other packs aside, so deduplication stores their blobs again and no new snapshot
// points into a pack that is gone or about to go. A restore sets aside only the
// packs the storage lacks, so that a blob stored again by a later backup is read from
// its new pack. Reads still find a blob set aside when it has no other location: a
// marked pack is still there, and a missing one is reported as missing.

// stored is what the storage held when the index was loaded.
type stored struct {
	unmarked bool // also set aside the packs a prune marked
	mu       sync.Mutex
	listedAt time.Time               // on this process's monotonic clock, before marks were listed
	marks    map[digest.ID]bool      // mark records seen then
	present  map[digest.ID]bool      // packs the storage listed
	written  map[digest.ID]time.Time // and when the storage wrote them
	keep     map[digest.ID]bool      // of those, the unmarked ones
	left     map[digest.ID]bool      // indexed packs left out: missing or marked
	missing  int                     // of those, missing from the storage
	aside    map[BlobID]index.Location
	own      ownPacks // what this process wrote (own.go)
}

// StoredPacksOnly makes the index set aside packs the storage does not list or a
// prune marked: a writer never deduplicates against them. Call it before anything
// loads the index (the backup's first step).
func (r *Repo) StoredPacksOnly() { r.setAside(&stored{unmarked: true}) }

// PresentPacksOnly makes the index prefer, for reading, the packs the storage lists
// and no prune marked: a blob stored again elsewhere is read from there, and a copy in
// a marked pack (which a prune may delete once its grace period ends) only when there
// is no other (a restore's first step).
func (r *Repo) PresentPacksOnly() { r.setAside(&stored{unmarked: true}) }

// setAside takes effect only before the index loads, and only once; call it before
// anything runs concurrently on r.
func (r *Repo) setAside(s *stored) {
	if r.idx == nil && r.stored == nil {
		r.stored = s
	}
}

// lookup finds a blob in the index, or among the entries set aside.
func (r *Repo) lookup(t BlobType, id digest.ID) (index.Location, bool) {
	if loc, ok := r.idx.Lookup(t, id); ok || r.stored == nil {
		return loc, ok
	}
	r.stored.mu.Lock()
	defer r.stored.mu.Unlock()
	loc, ok := r.stored.aside[BlobID{t, id}]
	return loc, ok
}

// list lists packs and mark records; marks first in time, so that a mark written
// after listedAt is one this process did not see.
func (s *stored) list(ctx context.Context, r *Repo) error {
	s.listedAt = time.Now()
	var (
		marks []MarkRecord
		packs map[digest.ID]PackInfo
	)
	g, gctx := errgroup.WithContext(ctx)
	g.Go(func() (err error) { marks, err = r.LoadMarks(gctx); return err })
	g.Go(func() (err error) { packs, err = r.PackInfos(gctx); return err })
	if err := g.Wait(); err != nil {
		return fmt.Errorf("find the packs a backup may reuse: %w", err)
	}
	s.marks, s.left = map[digest.ID]bool{}, map[digest.ID]bool{}
	s.present, s.keep = make(map[digest.ID]bool, len(packs)), make(map[digest.ID]bool, len(packs))
	s.written = make(map[digest.ID]time.Time, len(packs))
	for id, p := range packs {
		s.present[id], s.keep[id] = true, true
		s.written[id] = p.ModTime
	}
	for _, m := range marks {
		s.marks[m.ID] = true
		for _, id := range m.Packs {
			if s.unmarked {
				delete(s.keep, id)
			}
		}
	}
	return nil
}

// filter drops from seg the packs a backup must not reuse, counting them. On a nil
// *stored (StoredPacksOnly not asked for) it keeps everything.
func (s *stored) filter(seg *index.Segment) *index.Segment {
	if s == nil {
		return seg
	}
	out := &index.Segment{Packs: seg.Packs[:0:0]}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.aside == nil {
		s.aside = map[BlobID]index.Location{}
	}
	for _, p := range seg.Packs {
		if s.keep[p.ID] {
			out.Packs = append(out.Packs, p)
			continue
		}
		for _, b := range p.Blobs {
			if _, ok := s.aside[BlobID{b.Type, b.ID}]; !ok {
				s.aside[BlobID{b.Type, b.ID}] = index.Location{Pack: p.ID, Offset: b.Offset, Length: b.Length}
			}
		}
		if !s.left[p.ID] {
			s.left[p.ID] = true
			if !s.present[p.ID] {
				s.missing++
			}
		}
	}
	return out
}

// named reports whether a loaded segment named pack id though filter set it aside.
func (s *stored) named(id digest.ID) bool {
	if s == nil {
		return false
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.left[id]
}

// MissingPacks is how many packs the index names that the storage does not have
// (known once the index is loaded with StoredPacksOnly): their blobs are stored again.
func (r *Repo) MissingPacks() int {
	if r.stored == nil {
		return 0
	}
	r.stored.mu.Lock()
	defer r.stored.mu.Unlock()
	return r.stored.missing
}

// ErrOverGrace: a backup ran longer than a prune's grace period and relied on data
// that prune has since marked; its snapshot cannot stand.
var ErrOverGrace = errors.New("the backup ran longer than the prune grace period, and a prune has since marked data it reuses")

// graceMargin is taken off a grace period for the upload time of a mark record and the
// drift between the storage's clock and ours over one period (docs/prune.md).
const graceMargin = time.Minute

// marginOf is the margin taken off grace: a minute, or a tenth of a shorter grace
// period (a margin above the grace itself would make every backup that reuses newly
// marked data give up).
func marginOf(grace time.Duration) time.Duration { return min(graceMargin, grace/10) }

// CheckReuse is the backup's check after writing snapshot snap (docs/prune.md, backup
// step 4): if a prune marked packs since this process listed marks, and this process
// has run longer than that prune's grace period, every blob snap uses must lie outside
// the newly marked packs, and outside the packs deleted since: those it reused and
// those it wrote. It returns ErrOverGrace otherwise.
func (r *Repo) CheckReuse(ctx context.Context, snap Snapshot) error {
	if r.stored == nil || r.stored.marks == nil {
		return nil
	}
	marks, err := r.LoadMarks(ctx)
	if err != nil {
		return err
	}
	// A prune that marked and then deleted packs while this process was suspended
	// has also deleted its mark record: a pack gone since the listing is as bad.
	packs, err := r.PackInfos(ctx)
	if err != nil {
		return err
	}
	elapsed := time.Since(r.stored.listedAt)
	late := r.noteLate.Load()
	marked := map[digest.ID]bool{}
	for id := range r.stored.keep {
		if _, ok := packs[id]; !ok {
			marked[id] = true
		}
	}
	wrote := r.stored.own.gone(packs)
	for _, m := range marks {
		if !r.stored.marks[m.ID] && (late || elapsed >= m.Grace-marginOf(m.Grace)) {
			for _, id := range m.Packs {
				marked[id] = true
			}
		}
	}
	if len(marked)+len(wrote) == 0 {
		return nil
	}
	if err := r.dropLost(ctx, wrote); err != nil {
		return err
	}
	used, err := r.UsedBlobs(ctx, []Snapshot{snap})
	if err != nil {
		return err
	}
	for b := range used {
		loc, ok := r.Lookup(b.Type, b.ID)
		switch {
		case ok && marked[loc.Pack]:
			return fmt.Errorf("%w (blob %s in pack %s)", ErrOverGrace, b.ID.Short(), loc.Pack.Short())
		case ok && wrote[loc.Pack]:
			return fmt.Errorf("%w (pack %s, which this backup wrote, was deleted as a leftover while the backup was stopped; run it again)",
				ErrOverGrace, loc.Pack.Short())
		}
	}
	return nil
}

// Usable reports whether the blob is in a pack the storage has: with StoredPacksOnly
// or PresentPacksOnly, an entry set aside counts only if its pack was listed; without
// either, whether the index knows the blob at all. Load the index first.
func (r *Repo) Usable(t BlobType, id digest.ID) bool {
	if r.idx.Has(t, id) {
		return true
	}
	if r.stored == nil {
		return false
	}
	r.stored.mu.Lock()
	defer r.stored.mu.Unlock()
	loc, ok := r.stored.aside[BlobID{t, id}]
	return ok && r.stored.present[loc.Pack]
}
