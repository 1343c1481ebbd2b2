package index

import (
	"cmp"
	"encoding/binary"
	"fmt"
	"math"
	mbits "math/bits"
	"slices"

	"github.com/cairn-backup/cairn/internal/digest"
)

// AddSegments adds every pack of segs, in order, as AddSegment would one segment at a
// time, but files their new blobs with one sort and one merge: loading an index then
// costs a sort of its blobs, not a map insert and a share of a merge per blob. The
// sort runs outside the lock. It checks every segment first; if a pack then conflicts
// with one already in the index, the packs before it stay added. A blob listed twice
// keeps its copy in the pack the index numbered first, at the lowest offset.
func (ix *Index) AddSegments(segs []*Segment) error {
	for _, s := range segs {
		for i := range s.Packs {
			if err := checkPack(&s.Packs[i]); err != nil {
				return fmt.Errorf("add index segment: %w", err)
			}
		}
	}
	ix.mu.Lock()
	packs, nums, err := ix.numberPacks(segs)
	ix.mu.Unlock()
	adds := sortedEntries(packs, nums)
	ix.mu.Lock()
	defer ix.mu.Unlock()
	adds = ix.unknown(adds)
	if err := ix.insertSorted(adds); err != nil {
		// The spill file failed: keep the blobs in the map (see flush).
		for _, e := range adds {
			ix.fresh[blobKey{e.id, e.typ}] = e.loc
		}
		ix.freshMin, ix.spillFailed = math.MaxInt, err
	}
	if err != nil {
		return fmt.Errorf("add index segment: %w", err)
	}
	return nil
}

// numberPacks numbers the packs of segs that the index does not hold yet, and returns
// every pack up to the first that conflicts with the index, with its number.
func (ix *Index) numberPacks(segs []*Segment) ([]*Pack, []uint32, error) {
	var packs []*Pack
	var nums []uint32
	for _, s := range segs {
		for i := range s.Packs {
			n, err := ix.packNumber(&s.Packs[i])
			if err != nil {
				return packs, nums, err
			}
			packs, nums = append(packs, &s.Packs[i]), append(nums, n)
		}
	}
	return packs, nums, nil
}

// packNumber returns p's number, adding p to the pack table if it is new.
func (ix *Index) packNumber(p *Pack) (uint32, error) {
	n, ok := ix.packs.find(p.ID)
	switch {
	case ok && ix.packs.sizes[n] != p.Size:
		return 0, fmt.Errorf("add pack %s: listed with sizes %d and %d: %w", p.ID.Short(), ix.packs.sizes[n], p.Size, ErrCorrupt)
	case !ok && uint64(len(ix.packs.ids)) >= MaxPacks:
		return 0, fmt.Errorf("add pack %s: %w", p.ID.Short(), ErrFull)
	case !ok:
		n = ix.packs.add(p.ID, p.Size)
	}
	return n, nil
}

// sortedEntries returns the blobs of packs sorted by (id, type), and copies of one
// blob by pack number and offset: new packs are numbered in the order listed, and a
// pack lists its blobs in offset order, so the first copy is the one listed first.
// Ids are hashes, so a counting sort on their leading bits leaves buckets of one or
// two entries to sort: a few times faster than sorting the whole slice.
func sortedEntries(packs []*Pack, nums []uint32) []entry {
	n := 0
	for _, p := range packs {
		n += len(p.Blobs)
	}
	bits := min(max(mbits.Len(uint(n)), 1), 16)
	starts := make([]int, 1<<bits+1)
	bucket := func(id *digest.ID) int { return int(binary.BigEndian.Uint16(id[:]) >> (16 - bits)) }
	for _, p := range packs {
		for i := range p.Blobs {
			starts[bucket(&p.Blobs[i].ID)+1]++
		}
	}
	for j := 1; j < len(starts); j++ {
		starts[j] += starts[j-1]
	}
	es := make([]entry, n)
	next := slices.Clone(starts)
	for i, p := range packs {
		for _, b := range p.Blobs {
			j := bucket(&b.ID)
			es[next[j]] = entry{b.ID, b.Type, loc{nums[i], b.Offset, b.Length}}
			next[j]++
		}
	}
	for j := range len(starts) - 1 {
		if starts[j+1]-starts[j] > 1 {
			slices.SortFunc(es[starts[j]:starts[j+1]], compareCopies)
		}
	}
	return es
}

func compareCopies(a, b entry) int {
	if c := compareEntries(a, b); c != 0 {
		return c
	}
	return cmp.Or(cmp.Compare(a.loc.pack, b.loc.pack), cmp.Compare(a.loc.off, b.loc.off), cmp.Compare(a.loc.length, b.loc.length))
}

// unknown filters the sorted entries es in place down to the first of each key that
// the index does not hold, and widens the limits that size the layout to fit them.
func (ix *Index) unknown(es []entry) []entry {
	out := es[:0]
	empty := ix.count() == 0 // the first batch of a load: nothing to look up
	for i := range es {
		e := es[i]
		if i > 0 && compareEntries(es[i-1], e) == 0 {
			continue // listed again: the first location wins
		}
		if !empty && ix.has(blobKey{e.id, e.typ}) {
			continue
		}
		out = append(out, e)
		ix.maxOff, ix.maxLen = max(ix.maxOff, e.loc.off), max(ix.maxLen, e.loc.length)
	}
	return out
}

func (ix *Index) has(k blobKey) bool {
	_, ok := ix.find(k)
	return ok
}

// insertSorted files sorted entries the index does not hold into the tables: into
// recent while recent stays below 1/8 of base, and otherwise, with recent, straight
// into base, so that a large batch is copied once. It fails only if the tables are
// compact and the spill file cannot be written; nothing is added then.
func (ix *Index) insertSorted(adds []entry) error {
	if len(adds) == 0 {
		return nil
	}
	if ix.spill == nil && ix.compactMin > 0 && ix.count()+len(adds) >= ix.compactMin && ix.spillFailed == nil {
		ix.startCompact()
	}
	if ix.spill != nil {
		return ix.insertCompact(adds)
	}
	if ix.recent.n+len(adds) <= ix.base.n/8 {
		// Recent is laid out for the size at which it joins base, so that its layout,
		// and with it the cheap way to merge, holds while it grows.
		ix.recent.merge(ix.layout(ix.base.n/8), byShard(adds))
		return nil
	}
	recent, rest := ix.recent, byShard(adds)
	ix.base.merge(ix.layout(ix.base.n+recent.n+len(adds)), func(s int) []entry {
		if recent.n == 0 {
			return rest(s)
		}
		return mergeSorted(recent.entries(s), rest(s))
	})
	ix.recent = table{}
	return nil
}
