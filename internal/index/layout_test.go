package index

import (
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/cairn-backup/cairn/internal/digest"
)

func randomID(r *rand.Rand) (id digest.ID) {
	for i := 0; i < len(id); i += 8 {
		v := r.Uint64()
		for j := range 8 {
			id[i+j] = byte(v >> (8 * j))
		}
	}
	return id
}

func TestBits(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for range 1000 {
		buf := make([]byte, 16+pad)
		pos, n := r.IntN(64), r.IntN(58)
		v := r.Uint64() & (1<<n - 1)
		setBits(buf, pos, n, v)
		if got := getBits(buf, pos, n); got != v {
			t.Fatalf("bits %d+%d: got %x, want %x", pos, n, got, v)
		}
		if got := getBits(buf, 0, pos); got != 0 && pos > 0 {
			t.Fatalf("setBits wrote before bit %d", pos)
		}
	}
}

func TestNewLayout(t *testing.T) {
	for _, tc := range []struct {
		n                        int
		maxPack, maxOff, maxLen  uint32
		wantBucketBits, wantSize int
	}{
		// 100,000 packs, offsets below 64 MiB, lengths below 8 MiB: 67 bits of
		// location; 19 bucket bits bring the record down to 38 bytes, 20 keep
		// buckets short.
		{10_000_000, 99_999, 64<<20 - 1, 8<<20 - 1, 20, 38},
		{1_000_000, 99_999, 64<<20 - 1, 8<<20 - 1, 16, 39},
		{0, 0, 0, 0, 8, 32},
		{1 << 30, MaxPacks - 1, MaxOffset, MaxLength, 24, 40},
	} {
		l := newLayout(tc.n, tc.maxPack, tc.maxOff, tc.maxLen)
		if l.bucketBits != tc.wantBucketBits || l.size != tc.wantSize {
			t.Errorf("newLayout(%d, …) = %+v, want %d bucket bits, %d bytes", tc.n, l, tc.wantBucketBits, tc.wantSize)
		}
	}
}

func TestLayoutRoundTrip(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	for range 200 {
		l := newLayout(r.IntN(1<<24), r.Uint32(), r.Uint32N(MaxOffset+1), r.Uint32N(MaxLength+1))
		es := make([]entry, 50)
		for i := range es {
			es[i] = entry{randomID(r), BlobType(r.IntN(2)), loc{r.Uint32() >> (32 - l.packBits), r.Uint32() >> (32 - l.offBits), r.Uint32() >> (32 - l.lenBits)}}
		}
		es[1].id, es[1].typ, es[0].typ = es[0].id, Tree, Data // one id under both types
		slices.SortFunc(es, compareEntries)
		buf := make([]byte, len(es)*l.size+pad)
		for i := range es {
			l.encode(buf[i*l.size:], &es[i])
		}
		for i, e := range es {
			rec := buf[i*l.size:]
			if got := l.decode(rec, l.bucket(&e.id)); got != e {
				t.Fatalf("layout %+v: decode = %+v, want %+v", l, got, e)
			}
			key := l.key(&e.id, e.typ)
			if l.compare(rec, key[:]) != 0 {
				t.Fatalf("layout %+v: record does not equal its key", l)
			}
			if i > 0 && l.bucket(&es[i-1].id) == l.bucket(&e.id) && l.compare(buf[(i-1)*l.size:], key[:]) >= 0 {
				t.Fatalf("layout %+v: records %d and %d out of order", l, i-1, i)
			}
		}
	}
}

// TestSearch checks search against a linear scan, on uniform ids and on clusters that
// defeat its first guess. Search works within a bucket: all ids share 3 bytes.
func TestSearch(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	l := newLayout(1000, 1000, 1000, 1000)
	newID := func(cluster bool) digest.ID {
		id := randomID(r)
		id[0], id[1], id[2] = 7, 7, 7
		if cluster {
			id[3], id[4] = 0x80, byte(r.IntN(3))
		}
		return id
	}
	for round := range 500 {
		es := make([]entry, r.IntN(40))
		for i := range es {
			es[i] = entry{id: newID(round%2 == 1), typ: BlobType(r.IntN(2))}
		}
		slices.SortFunc(es, compareEntries)
		es = slices.CompactFunc(es, func(a, b entry) bool { return compareEntries(a, b) == 0 })
		recs := make([]byte, len(es)*l.size+pad)
		for i := range es {
			l.encode(recs[i*l.size:], &es[i])
		}
		for range 50 {
			lo := r.IntN(len(es) + 1)
			hi := lo + r.IntN(len(es)-lo+1)
			k := entry{id: newID(r.IntN(2) == 0), typ: BlobType(r.IntN(2))}
			if len(es) > 0 && r.IntN(2) == 0 {
				k = es[r.IntN(len(es))]
			}
			want := lo
			for want < hi && compareEntries(es[want], k) < 0 {
				want++
			}
			key := l.key(&k.id, k.typ)
			got, found := l.search(recs, lo, hi, key[:])
			if got != want || found != (want < hi && compareEntries(es[want], k) == 0) {
				t.Fatalf("search in [%d,%d) of %d = %d, %v; want %d", lo, hi, len(es), got, found, want)
			}
		}
	}
}
