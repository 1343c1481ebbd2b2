package index

import (
	"cmp"
	"encoding/binary"
	"math/bits"
	"slices"

	"github.com/cairn-backup/cairn/internal/digest"
)

// prefixBits is how many leading id bits a compact record keeps, counting the bucket
// bits it is filed under. A record whose prefix and type match a lookup's is only a
// candidate: the full id is read from the spill file and compared. A lookup of an
// absent id reads the file only when its 48-bit prefix matches a blob's, at ten
// million blobs about once in 28 million lookups.
const prefixBits = 48

// ckeyBits is the width of a compact key: the id prefix, then the type.
const ckeyBits = prefixBits + 1

// centry is a compact entry: the key of (id, type) and the position of the blob's full
// record in the spill file.
type centry struct {
	key uint64
	pos uint32
}

func ckey(id *digest.ID, typ BlobType) uint64 {
	return binary.BigEndian.Uint64(id[:])>>(64-prefixBits)<<1 | uint64(typ)
}

func compareCentries(a, b centry) int {
	return cmp.Or(cmp.Compare(a.key, b.key), cmp.Compare(a.pos, b.pos))
}

// clayout describes a compact record: the key bits below the bucket bits, then the
// position, right-aligned in size bytes (at most 8). Records of a bucket sort as
// unsigned numbers, which orders them by (key, position).
type clayout struct {
	bucketBits, posBits, size int
}

// newCLayout returns the layout that stores n records of positions up to maxPos in the
// fewest bytes, counting the bucket table, with the shortest buckets at that size (as
// newLayout does for full records).
func newCLayout(n int, maxPos uint32) clayout {
	l := clayout{posBits: max(bits.Len32(maxPos), 1)}
	size := func(b int) int { return (ckeyBits - b + l.posBits + 7) / 8 }
	best := -1
	for b := max(minBucketBits, ckeyBits+l.posBits-64); b <= maxBucketBits; b++ {
		if cost := n*size(b) + 4<<b; best < 0 || cost < best {
			best, l.bucketBits, l.size = cost, b, size(b)
		}
	}
	for l.bucketBits < maxBucketBits && size(l.bucketBits+1) == l.size && 8<<(l.bucketBits+1) <= n {
		l.bucketBits++
	}
	return l
}

func (l clayout) lowBits() int { return ckeyBits - l.bucketBits }

// get returns record i of recs, which must have pad bytes after the last record.
func (l clayout) get(recs []byte, i int) uint64 {
	return binary.BigEndian.Uint64(recs[i*l.size:]) >> (64 - 8*l.size)
}

// ctable is a sorted set of compact records, sharded by the id's first byte as table
// is, and like it never written once built.
type ctable struct {
	lay    clayout
	n      int
	shards [256]shard
}

func (t *ctable) bucketsPerShard() int { return 1 << (t.lay.bucketBits - minBucketBits) }

// run is the records of one key in a ctable, found by ctable.run.
type run struct {
	l       clayout
	recs    []byte
	i, end  int
	low     uint64 // the key bits the records hold
	pos     uint32 // the position of the current record, after next
	started bool
}

// run returns the records whose key is key; call next before each.
func (t *ctable) run(key uint64) run {
	if t.n == 0 {
		return run{}
	}
	l := t.lay
	sh := &t.shards[key>>(ckeyBits-minBucketBits)]
	j := key >> l.lowBits() & uint64(t.bucketsPerShard()-1)
	low := key & (1<<l.lowBits() - 1)
	lo, hi := int(sh.starts[j]), int(sh.starts[j+1])
	end := hi
	for lo < hi { // the first record not below low
		mid := int(uint(lo+hi) >> 1)
		if l.get(sh.recs, mid)>>l.posBits < low {
			lo = mid + 1
		} else {
			hi = mid
		}
	}
	return run{l: l, recs: sh.recs, i: lo - 1, end: end, low: low}
}

// next moves to the next record of the run, reporting false after the last.
func (r *run) next() bool {
	if r.recs == nil {
		return false
	}
	r.i++
	if r.i >= r.end {
		return false
	}
	v := r.l.get(r.recs, r.i)
	if v>>r.l.posBits != r.low {
		return false
	}
	r.pos = uint32(v & (1<<r.l.posBits - 1))
	return true
}

// entries unpacks shard s in order.
func (t *ctable) entries(s int) []centry {
	sh := &t.shards[s]
	if len(sh.starts) == 0 {
		return nil
	}
	l := t.lay
	out := make([]centry, 0, sh.starts[len(sh.starts)-1])
	for j := range len(sh.starts) - 1 {
		high := uint64(s<<(l.bucketBits-minBucketBits)|j) << l.lowBits()
		for i := sh.starts[j]; i < sh.starts[j+1]; i++ {
			v := l.get(sh.recs, int(i))
			out = append(out, centry{high | v>>l.posBits, uint32(v & (1<<l.posBits - 1))})
		}
	}
	return out
}

// merge adds the entries adds(s) to shard s of t, in layout l. adds is called for s =
// 0 to 255 in order; each adds(s) is sorted and holds keys of ids starting with byte
// s. Only one shard is rebuilt at a time.
func (t *ctable) merge(l clayout, adds func(s int) []centry) {
	old, n := t.lay, t.n
	for s := range t.shards {
		a := adds(s)
		n += len(a)
		if l != old || len(a) > 0 {
			t.shards[s] = cbuild(l, mergeCentries(t.entries(s), a))
		}
	}
	t.lay, t.n = l, n
}

// cbuild encodes the sorted entries es of one shard.
func cbuild(l clayout, es []centry) shard {
	sh := shard{recs: make([]byte, len(es)*l.size+pad), starts: make([]uint32, 1<<(l.bucketBits-minBucketBits)+1)}
	mask := uint64(len(sh.starts) - 2)
	shift := 64 - 8*l.size
	for i, e := range es { // in order: each word's low bytes are the next record's
		v := (e.key&(1<<l.lowBits()-1))<<l.posBits | uint64(e.pos)
		binary.BigEndian.PutUint64(sh.recs[i*l.size:], v<<shift)
		sh.starts[e.key>>l.lowBits()&mask+1]++
	}
	for j := 1; j < len(sh.starts); j++ {
		sh.starts[j] += sh.starts[j-1]
	}
	return sh
}

func mergeCentries(a, b []centry) []centry {
	if len(a) == 0 {
		return b
	}
	out := make([]centry, 0, len(a)+len(b))
	for len(a) > 0 && len(b) > 0 {
		if compareCentries(a[0], b[0]) < 0 {
			out, a = append(out, a[0]), a[1:]
		} else {
			out, b = append(out, b[0]), b[1:]
		}
	}
	return append(append(out, a...), b...)
}

// compactShards returns, for shards asked in order, the entries es (sorted by id, as
// byShard wants them) as compact entries, sorted, their positions first onwards.
func compactShards(es []entry, first uint32) func(s int) []centry {
	next := byShard(es)
	pos := first
	return func(s int) []centry {
		part := next(s)
		out := make([]centry, len(part))
		for i := range part {
			out[i] = centry{ckey(&part[i].id, part[i].typ), pos}
			pos++
		}
		// Ids equal in their prefix sort by type first here, by the rest of the id there.
		slices.SortFunc(out, compareCentries)
		return out
	}
}

// startCompact moves the entries of the tables into a new spill file and compact
// tables, one shard at a time. If the file cannot be created or written, the tables
// stay as they are, in memory, for good: an index that is larger than planned is
// still correct.
func (ix *Index) startCompact() {
	sp, err := openSpill(ix.spillDir)
	if err == nil {
		for s := range ix.base.shards { // the entries in the order the second pass files them
			if _, err = sp.append(mergeSorted(ix.base.entries(s), ix.recent.entries(s))); err != nil {
				break
			}
		}
		if err != nil {
			_ = sp.close() // err says what went wrong
		}
	}
	if err != nil {
		ix.spillFailed = err
		return
	}
	n := ix.base.n + ix.recent.n
	var t ctable
	pos := uint32(0)
	t.merge(newCLayout(n, uint32(max(n-1, 0))), func(s int) []centry {
		es := mergeSorted(ix.base.entries(s), ix.recent.entries(s))
		ix.base.shards[s], ix.recent.shards[s] = shard{}, shard{} // let the memory go
		next := compactShards(es, pos)
		pos += uint32(len(es))
		return next(s)
	})
	ix.spill, ix.cbase, ix.base, ix.recent = sp, t, table{}, table{}
}

// insertCompact writes adds to the spill file, then files them as insertSorted does.
func (ix *Index) insertCompact(adds []entry) error {
	first, err := ix.spill.append(adds)
	if err != nil {
		return err
	}
	maxPos := uint32(ix.spill.n - 1)
	rest := compactShards(adds, first)
	if ix.crecent.n+len(adds) <= ix.cbase.n/8 {
		ix.crecent.merge(newCLayout(ix.cbase.n/8, maxPos), rest)
		return nil
	}
	recent := ix.crecent
	ix.cbase.merge(newCLayout(ix.cbase.n+recent.n+len(adds), maxPos), func(s int) []centry {
		return mergeCentries(recent.entries(s), rest(s))
	})
	ix.crecent = ctable{}
	return nil
}
