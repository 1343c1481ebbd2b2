package index

import (
	"fmt"
	"math"
	"slices"
	"sync"

	"github.com/cairn-backup/cairn/internal/digest"
)

// Location is where a blob is stored: its pack, and the byte range of the sealed blob
// inside the pack.
type Location struct {
	Pack           digest.ID
	Offset, Length uint32
}

// Index maps (type, id) to a Location, keeping the first location added for each. It is
// safe for concurrent use; the zero Index is empty and ready to use.
//
// Entries live in three tiers, newest first: a small map, a sorted table "recent" and
// a sorted table "base". The map is merged into recent when it reaches 1/256 of the
// index, and recent into base when it passes 1/8 of base, so every add costs O(1)
// record copies amortised while nearly all entries sit in the compact tables. Segments
// (AddSegments) skip the map: their blobs are sorted at once and merged like a flush.
// Lookups wait while a merge runs: at ten million blobs, a fraction of a second every
// million or so adds.
//
// From compactMin blobs on, the tables turn compact (compact.go): they keep 48 bits of
// each id and the position of the blob's full record in a spill file (spill.go), which
// confirms every match, about 7 bytes a blob in memory and 45 on disk.
type Index struct {
	mu             sync.RWMutex
	packs          packTable
	fresh          map[blobKey]loc
	recent, base   table
	maxOff, maxLen uint32 // the largest values added, which size the layout
	freshMin       int
	spill          *spill // nil until the tables turn compact
	crecent, cbase ctable // the compact tables, used instead of recent and base
	compactMin     int    // 0: never compact
	spillDir       string
	spillFailed    error // why the tables stayed in memory, or new blobs stay in the map
	closed         bool
}

type blobKey struct {
	id  digest.ID
	typ BlobType
}

// defaultFreshMin is the smallest map worth merging into a table: small indexes stay
// in the map.
const defaultFreshMin = 1 << 12

// defaultCompactMin is the number of blobs from which the tables turn compact: below
// it, an index takes under 100 MB in memory, and a lookup that finds its blob reads no
// file.
const defaultCompactMin = 1 << 21

// Option configures New.
type Option func(*Index)

// SpillDir names the directory for the spill file of an index of two million blobs or
// more (a repository's cache directory); "" or no SpillDir means os.TempDir(). The
// file is removed by Close, or as soon as it is created where the system allows it.
func SpillDir(dir string) Option { return func(ix *Index) { ix.spillDir = dir } }

// New returns an empty index.
func New(opts ...Option) *Index {
	ix := newIndex(defaultFreshMin)
	ix.compactMin = defaultCompactMin
	for _, o := range opts {
		o(ix)
	}
	return ix
}

func newIndex(freshMin int) *Index {
	return &Index{fresh: make(map[blobKey]loc), freshMin: freshMin}
}

// Close removes the index's spill file, if it has one, and returns the first error
// the file gave (a read that failed made a lookup find nothing; a write that failed
// kept blobs in memory). The index must not be used after Close.
func (ix *Index) Close() error {
	ix.mu.Lock()
	defer ix.mu.Unlock()
	if ix.spill == nil || ix.closed {
		return nil
	}
	ix.closed = true
	return ix.spill.close()
}

// AddPack adds the blobs of p, a pack file the caller has stored or found listed in the
// repository. Blobs already in the index keep their location. Adding a pack again is
// harmless, but not with another size. Nothing is added if p breaks a limit.
func (ix *Index) AddPack(p Pack) error {
	if err := checkPack(&p); err != nil {
		return fmt.Errorf("add pack: %w", err)
	}
	ix.mu.Lock()
	defer ix.mu.Unlock()
	return ix.addPack(&p)
}

// AddSegment adds every pack of s. It checks the whole segment first; if a pack then
// conflicts with one already in the index, the packs before it stay added.
func (ix *Index) AddSegment(s *Segment) error { return ix.AddSegments([]*Segment{s}) }

func (ix *Index) addPack(p *Pack) error {
	n, err := ix.packNumber(p)
	if err != nil {
		return err
	}
	if ix.fresh == nil { // the zero Index
		ix.fresh, ix.freshMin = make(map[blobKey]loc), defaultFreshMin
	}
	for _, b := range p.Blobs {
		k := blobKey{b.ID, b.Type}
		if _, dup := ix.find(k); dup {
			continue
		}
		ix.fresh[k] = loc{n, b.Offset, b.Length}
		ix.maxOff, ix.maxLen = max(ix.maxOff, b.Offset), max(ix.maxLen, b.Length)
	}
	if len(ix.fresh) >= max(ix.freshMin, ix.count()/256) {
		ix.flush()
	}
	return nil
}

// flush merges the map into the tables. If the spill file cannot be written, the
// blobs stay in the map, which is then never flushed again: the index stays whole,
// only larger.
func (ix *Index) flush() {
	adds := make([]entry, 0, len(ix.fresh))
	for k, l := range ix.fresh {
		adds = append(adds, entry{k.id, k.typ, l})
	}
	slices.SortFunc(adds, compareEntries)
	old := ix.fresh
	ix.fresh = make(map[blobKey]loc) // not clear: let the map's memory go
	if err := ix.insertSorted(adds); err != nil {
		ix.fresh, ix.freshMin, ix.spillFailed = old, math.MaxInt, err
	}
}

// byShard splits sorted entries by their first byte, for shards asked in order.
func byShard(es []entry) func(s int) []entry {
	return func(s int) []entry {
		n := 0
		for n < len(es) && int(es[n].id[0]) == s {
			n++
		}
		part := es[:n]
		es = es[n:]
		return part
	}
}

func (ix *Index) layout(n int) layout {
	return newLayout(n, uint32(max(len(ix.packs.ids)-1, 0)), ix.maxOff, ix.maxLen)
}

// find looks in the tiers largest first: they hold disjoint entries, and most hits
// are in base.
func (ix *Index) find(k blobKey) (loc, bool) {
	if ix.spill != nil {
		if l, ok := ix.findCompact(k); ok {
			return l, true
		}
	} else if l, ok := ix.base.find(&k.id, k.typ); ok {
		return l, true
	}
	if l, ok := ix.recent.find(&k.id, k.typ); ok {
		return l, true
	}
	l, ok := ix.fresh[k]
	return l, ok
}

// findCompact looks in the compact tables: every record with k's prefix and type is
// a candidate, and only the full id read from the spill file makes it a match.
func (ix *Index) findCompact(k blobKey) (loc, bool) {
	key := ckey(&k.id, k.typ)
	for _, t := range [...]*ctable{&ix.cbase, &ix.crecent} {
		for r := t.run(key); r.next(); {
			if e, ok := ix.spill.read(r.pos); ok && e.id == k.id && e.typ == k.typ {
				return e.loc, true
			}
		}
	}
	return loc{}, false
}

func (ix *Index) count() int {
	return len(ix.fresh) + ix.recent.n + ix.base.n + ix.crecent.n + ix.cbase.n
}

// Has reports whether the index holds a blob of type t and id id.
func (ix *Index) Has(t BlobType, id digest.ID) bool {
	ix.mu.RLock()
	defer ix.mu.RUnlock()
	_, ok := ix.find(blobKey{id, t})
	return ok
}

// Lookup returns where the blob of type t and id id is stored.
func (ix *Index) Lookup(t BlobType, id digest.ID) (Location, bool) {
	ix.mu.RLock()
	defer ix.mu.RUnlock()
	l, ok := ix.find(blobKey{id, t})
	if !ok {
		return Location{}, false
	}
	return Location{Pack: ix.packs.ids[l.pack], Offset: l.off, Length: l.length}, true
}

// Len returns the number of blobs, each (type, id) counted once.
func (ix *Index) Len() int {
	ix.mu.RLock()
	defer ix.mu.RUnlock()
	return ix.count()
}

// PackSize returns the size of a pack the index knows.
func (ix *Index) PackSize(pack digest.ID) (uint64, bool) {
	ix.mu.RLock()
	defer ix.mu.RUnlock()
	n, ok := ix.packs.find(pack)
	if !ok {
		return 0, false
	}
	return ix.packs.sizes[n], true
}

// EachPack calls fn for every pack, in the order they were added, until fn returns
// false. It sees the packs present when it was called; fn may use the index.
func (ix *Index) EachPack(fn func(id digest.ID, size uint64) bool) {
	ix.mu.RLock()
	ids, sizes := ix.packs.ids, ix.packs.sizes
	ix.mu.RUnlock()
	for i, id := range ids {
		if !fn(id, sizes[i]) {
			return
		}
	}
}

// EachBlob calls fn for every blob, in no particular order, until fn returns false.
// It sees the blobs present when it was called; fn may use the index. It fails if the
// index's spill file cannot be read back.
func (ix *Index) EachBlob(fn func(t BlobType, id digest.ID, loc Location) bool) error {
	ix.mu.RLock()
	fresh := make([]entry, 0, len(ix.fresh))
	for k, l := range ix.fresh {
		fresh = append(fresh, entry{k.id, k.typ, l})
	}
	// Table buffers are never written after they are built, so copies stay valid.
	recent, base, ids := ix.recent, ix.base, ix.packs.ids
	sp, spilled := ix.spill, 0
	if sp != nil { // the spill file holds every blob of the compact tables, once
		spilled = sp.n
	}
	ix.mu.RUnlock()
	visit := func(e *entry) bool {
		return fn(e.typ, e.id, Location{Pack: ids[e.loc.pack], Offset: e.loc.off, Length: e.loc.length})
	}
	for i := range fresh {
		if !visit(&fresh[i]) {
			return nil
		}
	}
	if recent.each(visit) && base.each(visit) && sp != nil {
		return sp.each(spilled, visit)
	}
	return nil
}
