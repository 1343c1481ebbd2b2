package index

import (
	"bytes"
	"cmp"
	"encoding/binary"
	"math/bits"

	"github.com/cairn-backup/cairn/internal/digest"
)

// entry is one blob's key and location, unpacked.
type entry struct {
	id  digest.ID
	typ BlobType
	loc loc
}

// loc is a location with the pack as its number in the pack table.
type loc struct{ pack, off, length uint32 }

func compareEntries(a, b entry) int {
	if x, y := binary.BigEndian.Uint64(a.id[:]), binary.BigEndian.Uint64(b.id[:]); x != y {
		return cmp.Compare(x, y) // settles nearly every comparison of random ids
	}
	if c := bytes.Compare(a.id[8:], b.id[8:]); c != 0 {
		return c
	}
	return cmp.Compare(a.typ, b.typ)
}

const (
	idBits = digest.Size * 8
	// Bucket bits start at 8, one shard per value of the id's first byte, and stop
	// where the bucket table would outweigh the bytes it saves.
	minBucketBits = 8
	maxBucketBits = 24
	// pad zero bytes follow every record buffer, so that getBits and setBits may
	// always load 8 bytes.
	pad = 8
)

// layout describes a record, a big-endian bit string of size bytes:
//
//	id bits [bucketBits, 256) ‖ type (1 bit) ‖ pack number ‖ offset ‖ length ‖ zeros
//
// The leading bucketBits of the id are not stored: they are the number of the bucket
// the record is filed under. Records compare as byte strings over their first
// keyBits, which orders them by (id, type).
type layout struct {
	bucketBits                 int
	packBits, offBits, lenBits int
	size                       int
}

// newLayout returns the layout that stores n records whose fields are at most the
// given values in the fewest bytes, counting the bucket table (4 bytes a bucket), and
// then has the shortest buckets at no more cost than half a byte a record.
func newLayout(n int, maxPack, maxOff, maxLen uint32) layout {
	l := layout{packBits: bits.Len32(maxPack), offBits: bits.Len32(maxOff), lenBits: bits.Len32(maxLen)}
	size := func(b int) int { return (idBits - b + 1 + l.packBits + l.offBits + l.lenBits + 7) / 8 }
	best := -1
	for b := minBucketBits; b <= maxBucketBits; b++ {
		if cost := n*size(b) + 4<<b; best < 0 || cost < best {
			best, l.bucketBits, l.size = cost, b, size(b)
		}
	}
	// More buckets of the same record size make searches shorter: take as many as
	// keep 8 records a bucket on average, so the table costs at most half a byte each.
	for l.bucketBits < maxBucketBits && size(l.bucketBits+1) == l.size && 8<<(l.bucketBits+1) <= n {
		l.bucketBits++
	}
	return l
}

func (l layout) keyBits() int { return idBits - l.bucketBits + 1 }

// bucket returns the first bucketBits bits of id.
func (l layout) bucket(id *digest.ID) uint32 {
	return binary.BigEndian.Uint32(id[:4]) >> (32 - l.bucketBits)
}

// putKey ORs the stored id bits and the type into rec: the id as four 64-bit words
// shifted left by bucketBits, then the type bit.
func (l layout) putKey(rec []byte, id *digest.ID, typ BlobType) {
	b := l.bucketBits
	for i := range 4 {
		w := binary.BigEndian.Uint64(id[8*i:]) << b
		if i < 3 {
			w |= binary.BigEndian.Uint64(id[8*i+8:]) >> (64 - b)
		} else {
			w |= uint64(typ) << (b - 1)
		}
		binary.BigEndian.PutUint64(rec[8*i:], binary.BigEndian.Uint64(rec[8*i:])|w)
	}
}

// key returns the search key for (id, typ): a record's first keyBits.
func (l layout) key(id *digest.ID, typ BlobType) (k [digest.Size + pad]byte) {
	l.putKey(k[:], id, typ)
	return k
}

// encode writes e to rec, which must be zero through size+pad bytes.
func (l layout) encode(rec []byte, e *entry) {
	l.putKey(rec, &e.id, e.typ)
	p := l.keyBits()
	setBits(rec, p, l.packBits, uint64(e.loc.pack))
	p += l.packBits
	setBits(rec, p, l.offBits, uint64(e.loc.off))
	p += l.offBits
	setBits(rec, p, l.lenBits, uint64(e.loc.length))
}

// compare orders rec against a key from l.key.
func (l layout) compare(rec, key []byte) int {
	// Most records differ from the key in their first 8 bytes: compare those as one word.
	if a, b := binary.BigEndian.Uint64(rec), binary.BigEndian.Uint64(key); a != b {
		return cmp.Compare(a, b)
	}
	kb := l.keyBits()
	n := kb / 8
	if c := bytes.Compare(rec[8:n], key[8:n]); c != 0 {
		return c
	}
	mask := byte(0xff) << (8 - kb%8)
	return cmp.Compare(rec[n]&mask, key[n]&mask)
}

func (l layout) loc(rec []byte) loc {
	p := l.keyBits()
	pack := getBits(rec, p, l.packBits)
	p += l.packBits
	off := getBits(rec, p, l.offBits)
	p += l.offBits
	return loc{uint32(pack), uint32(off), uint32(getBits(rec, p, l.lenBits))}
}

// decode unpacks the record rec filed under bucket, the inverse of encode.
func (l layout) decode(rec []byte, bucket uint32) entry {
	b := l.bucketBits
	var e entry
	prev := uint64(bucket) // the bits that go before each word of rec
	for i := range 4 {
		w := binary.BigEndian.Uint64(rec[8*i:])
		binary.BigEndian.PutUint64(e.id[8*i:], prev<<(64-b)|w>>b)
		prev = w
	}
	e.typ = BlobType(getBits(rec, idBits-b, 1))
	e.loc = l.loc(rec)
	return e
}

// getBits returns the n ≤ 57 bits of b starting at bit pos (bit 0 is the top bit of
// b[0]); b must extend 8 bytes past pos/8.
func getBits(b []byte, pos, n int) uint64 {
	return binary.BigEndian.Uint64(b[pos/8:]) << (pos % 8) >> (64 - n)
}

// setBits ORs the low n ≤ 57 bits of v into b at bit pos; the bits must be zero.
func setBits(b []byte, pos, n int, v uint64) {
	if n == 0 {
		return
	}
	w := binary.BigEndian.Uint64(b[pos/8:])
	binary.BigEndian.PutUint64(b[pos/8:], w|v<<(64-n)>>(pos%8))
}
