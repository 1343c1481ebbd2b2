package repo

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/cairn-backup/cairn/internal/digest"
	"github.com/cairn-backup/cairn/internal/index"
	"github.com/cairn-backup/cairn/remote"
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
	note     *RunNote // BeginRun's note, whose marks listing CheckReuse waits for
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
		s.own.packs, s.own.segs = map[digest.ID]bool{}, map[digest.ID][]digest.ID{}
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

// list lists packs and mark records, or takes the listings Open made early, once the
// storage acknowledged the run note; listedAt is taken before the marks were listed,
// so that a mark written after it is one this process did not see.
func (s *stored) list(ctx context.Context, r *Repo) error {
	if err := s.note.stored(ctx); err != nil { // a prune deleting at once must see it
		return err
	}
	s.listedAt = time.Now()
	if at, ok := r.early.startOf(remote.Mark); ok {
		s.listedAt = at
	}
	var (
		marks []MarkRecord
		packs map[digest.ID]PackInfo
	)
	g, gctx := errgroup.WithContext(ctx)
	g.Go(func() (err error) { marks, err = r.loadMarksFrom(gctx, r.listFirst); return err })
	g.Go(func() (err error) { packs, err = r.packInfosFrom(gctx, r.listFirst); return err })
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
