package index

import (
	"encoding/binary"

	"github.com/cairn-backup/cairn/internal/digest"
)

// table is a sorted set of records in one layout. It is split into 256 shards by the
// id's first byte so that a merge rebuilds one shard at a time: beyond the table, a
// merge needs memory for one shard, not for a copy of the whole table. Shard buffers
// are never written once built, so a copy of a table stays valid while the original
// is merged into.
type table struct {
	lay    layout
	n      int
	shards [256]shard
}

// shard holds the records whose bucket's first 8 bits are its number; bucket j of the
// shard is records starts[j] to starts[j+1].
type shard struct {
	recs   []byte // records, then pad zero bytes
	starts []uint32
}

func (t *table) bucketsPerShard() int { return 1 << (t.lay.bucketBits - minBucketBits) }

// find returns the location of (id, typ) in t.
func (t *table) find(id *digest.ID, typ BlobType) (loc, bool) {
	if t.n == 0 {
		return loc{}, false
	}
	l := t.lay
	sh := &t.shards[id[0]]
	j := l.bucket(id) & uint32(t.bucketsPerShard()-1)
	lo, hi := int(sh.starts[j]), int(sh.starts[j+1])
	key := l.key(id, typ)
	i, ok := l.search(sh.recs, lo, hi, key[:])
	if !ok {
		return loc{}, false
	}
	return l.loc(sh.recs[i*l.size:]), true
}

// search returns the first of records lo to hi that is not below key, and whether it
// equals key. Ids are uniformly random, so the first probe goes where the key's next
// 16 bits say; the answer is then bracketed by doubling steps and found by bisection.
// A bucket of a dozen records thus costs one or two cache misses, not four, and a
// crafted cluster of ids costs O(log n), not O(n).
func (l layout) search(recs []byte, lo, hi int, key []byte) (int, bool) {
	end := hi
	if lo < hi {
		g := lo + int(uint64(hi-lo)*uint64(binary.BigEndian.Uint16(key))>>16)
		less := func(i int) bool { return l.compare(recs[i*l.size:], key) < 0 }
		if less(g) { // the answer is in (g, hi]
			for step := 1; ; step *= 2 {
				if g+step >= hi || !less(g+step) {
					lo, hi = g+1, min(g+step, hi)
					break
				}
				g += step
			}
		} else { // the answer is in [lo, g]
			for step := 1; ; step *= 2 {
				if g-step < lo {
					hi = g
					break
				}
				if less(g - step) {
					lo, hi = g-step+1, g
					break
				}
				g -= step
			}
		}
		for lo < hi {
			mid := int(uint(lo+hi) >> 1)
			if less(mid) {
				lo = mid + 1
			} else {
				hi = mid
			}
		}
	}
	return lo, lo < end && l.compare(recs[lo*l.size:], key) == 0
}

// entries unpacks shard s in order.
func (t *table) entries(s int) []entry {
	sh := &t.shards[s]
	if len(sh.starts) == 0 {
		return nil
	}
	l := t.lay
	out := make([]entry, 0, sh.starts[len(sh.starts)-1])
	for j := range len(sh.starts) - 1 {
		bucket := uint32(s<<(l.bucketBits-minBucketBits) | j)
		for i := sh.starts[j]; i < sh.starts[j+1]; i++ {
			out = append(out, l.decode(sh.recs[int(i)*l.size:], bucket))
		}
	}
	return out
}

// each calls fn for every entry until fn returns false.
func (t *table) each(fn func(e *entry) bool) bool {
	for s := range t.shards {
		for _, e := range t.entries(s) {
			if !fn(&e) {
				return false
			}
		}
	}
	return true
}

// merge adds the entries adds(s) to shard s of t, re-encoding t in layout l if it
// differs. adds is called for s = 0 to 255 in order; each adds(s) is sorted, holds ids
// starting with byte s, and none that t holds already.
func (t *table) merge(l layout, adds func(s int) []entry) {
	old, n := t.lay, t.n
	for s := range t.shards {
		a := adds(s)
		n += len(a)
		switch {
		case l != old:
			t.shards[s] = build(l, mergeSorted(t.entries(s), a))
		case len(a) > 0:
			t.shards[s] = insert(l, t.shards[s], a)
		}
	}
	t.lay, t.n = l, n
}

// build encodes the sorted entries es of one shard.
func build(l layout, es []entry) shard {
	sh := shard{recs: make([]byte, len(es)*l.size+pad), starts: make([]uint32, 1<<(l.bucketBits-minBucketBits)+1)}
	mask := uint32(len(sh.starts) - 2)
	for i := range es {
		l.encode(sh.recs[i*l.size:], &es[i])
		sh.starts[l.bucket(&es[i].id)&mask+1]++
	}
	for j := 1; j < len(sh.starts); j++ {
		sh.starts[j] += sh.starts[j-1]
	}
	return sh
}

// insert returns old with the sorted entries adds filed in. Runs of old records are
// copied as they are, which keeps a merge cheap while the layout does not change.
func insert(l layout, old shard, adds []entry) shard {
	total := int(old.starts[len(old.starts)-1]) + len(adds)
	sh := shard{recs: make([]byte, total*l.size+pad), starts: make([]uint32, len(old.starts))}
	mask := uint32(len(sh.starts) - 2)
	w, next := 0, 0 // records written; next old record to copy
	copyTo := func(end int) {
		w += copy(sh.recs[w*l.size:], old.recs[next*l.size:end*l.size]) / l.size
		next = end
	}
	for j := range len(sh.starts) - 1 {
		sh.starts[j] = uint32(w)
		end := int(old.starts[j+1])
		for len(adds) > 0 && l.bucket(&adds[0].id)&mask == uint32(j) {
			key := l.key(&adds[0].id, adds[0].typ)
			pos, _ := l.search(old.recs, next, end, key[:])
			copyTo(pos)
			l.encode(sh.recs[w*l.size:], &adds[0])
			w++
			adds = adds[1:]
		}
		copyTo(end)
	}
	sh.starts[len(sh.starts)-1] = uint32(w)
	return sh
}

// mergeSorted merges two sorted, disjoint slices.
func mergeSorted(a, b []entry) []entry {
	out := make([]entry, 0, len(a)+len(b))
	for len(a) > 0 && len(b) > 0 {
		if compareEntries(a[0], b[0]) < 0 {
			out, a = append(out, a[0]), a[1:]
		} else {
			out, b = append(out, b[0]), b[1:]
		}
	}
	return append(append(out, a...), b...)
}
