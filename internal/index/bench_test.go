package index

import (
	"fmt"
	"math/rand/v2"
	"runtime"
	"testing"
	"time"

	"github.com/cairn-backup/cairn/internal/digest"
)

// synthPack fills p with a random pack of len(p.Blobs) blobs: 90 % data, 10 % tree,
// offsets below 64 MiB, lengths up to 8 MiB.
func synthPack(r *rand.Rand, p *Pack) {
	p.ID = randomID(r)
	p.Size = 72 << 20
	for i := range p.Blobs {
		typ := Data
		if r.IntN(10) == 0 {
			typ = Tree
		}
		p.Blobs[i] = Blob{Type: typ, ID: randomID(r), Offset: r.Uint32N(64 << 20), Length: 1 + r.Uint32N(8<<20)}
	}
}

func heapAlloc() uint64 {
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.HeapAlloc
}

// BenchmarkMemory10M reports the heap bytes per blob of an index of 10,000,000 blobs
// in 100,000 packs. Run it with -benchtime=1x.
func BenchmarkMemory10M(b *testing.B) {
	if testing.Short() {
		b.Skip("builds a 10M-blob index")
	}
	const packs, perPack = 100_000, 100
	for range b.N {
		r := rand.New(rand.NewPCG(1, 2))
		p := Pack{Blobs: make([]Blob, perPack)}
		before := heapAlloc()
		start := time.Now()
		ix := New()
		for range packs {
			synthPack(r, &p)
			if err := ix.AddPack(p); err != nil {
				b.Fatal(err)
			}
		}
		build := time.Since(start)
		after := heapAlloc()
		runtime.KeepAlive(ix)
		b.ReportMetric(float64(after-before)/float64(ix.Len()), "B/blob")
		b.ReportMetric(build.Seconds(), "s/build")
		var m runtime.MemStats
		runtime.ReadMemStats(&m)
		b.ReportMetric(float64(m.HeapSys)/(1<<20), "MiB-heap-sys")
		b.Logf("%d blobs: %d in the map, %d in recent (%+v), %d in base (%+v), %d in compact recent (%+v), %d in compact base (%+v)",
			ix.Len(), len(ix.fresh), ix.recent.n, ix.recent.lay, ix.base.n, ix.base.lay, ix.crecent.n, ix.crecent.lay, ix.cbase.n, ix.cbase.lay)
		if ix.spill != nil {
			b.ReportMetric(float64(ix.spill.n*spillRecord)/float64(ix.Len()), "B/blob-on-disk")
		}
		if err := ix.Close(); err != nil {
			b.Fatal(err)
		}
	}
}

// lookupIndex returns an index of n random blobs, and their ids.
func lookupIndex(n, compactMin int) (*Index, []digest.ID) {
	r := rand.New(rand.NewPCG(3, 4))
	ix := New()
	ix.compactMin = compactMin
	p := Pack{Blobs: make([]Blob, 100)}
	ids := make([]digest.ID, 0, n)
	for len(ids) < n {
		synthPack(r, &p)
		for i := range p.Blobs {
			p.Blobs[i].Type = Data
			ids = append(ids, p.Blobs[i].ID)
		}
		if err := ix.AddPack(p); err != nil {
			panic(err)
		}
	}
	return ix, ids
}

// BenchmarkLookup times Lookup of blobs the index holds (hit) and of ids it does not
// hold under that type (miss), in indexes of 1 and 10 million blobs (compact, as New
// makes it from two million on), and of 1 million made compact.
func BenchmarkLookup(b *testing.B) {
	for _, c := range []struct{ n, compactMin int }{{1_000_000, defaultCompactMin}, {1_000_000, 1}, {10_000_000, defaultCompactMin}} {
		name := fmt.Sprintf("%dM", c.n/1_000_000)
		if c.compactMin < c.n {
			name += "-compact"
		}
		b.Run(name, func(b *testing.B) {
			if c.n > 1_000_000 && testing.Short() {
				b.Skip("builds a 10M-blob index")
			}
			benchLookup(b, c.n, c.compactMin)
		})
	}
}

func benchLookup(b *testing.B, n, compactMin int) {
	ix, ids := lookupIndex(n, compactMin)
	defer ix.Close()
	b.Run("hit", func(b *testing.B) {
		i := 0
		for b.Loop() {
			if _, ok := ix.Lookup(Data, ids[i%len(ids)]); !ok {
				b.Fatal("miss")
			}
			i += 7919 // a prime stride: not the order the ids were added in
		}
	})
	b.Run("miss", func(b *testing.B) {
		i := 0
		for b.Loop() {
			if _, ok := ix.Lookup(Tree, ids[i%len(ids)]); ok {
				b.Fatal("hit")
			}
			i += 7919
		}
	})
}

// BenchmarkAddPack adds packs of 100 blobs to a growing index.
func BenchmarkAddPack(b *testing.B) {
	r := rand.New(rand.NewPCG(5, 6))
	ix := New()
	p := Pack{Blobs: make([]Blob, 100)}
	for b.Loop() {
		b.StopTimer()
		synthPack(r, &p)
		b.StartTimer()
		if err := ix.AddPack(p); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*len(p.Blobs)), "ns/blob")
}

// BenchmarkLoad fills an empty index from segments of 100,000 blobs in all, as
// loading a repository's index does: one sort (AddSegments) against a merge every few
// thousand blobs (AddPack).
func BenchmarkLoad(b *testing.B) {
	r := rand.New(rand.NewPCG(7, 8))
	segs := make([]*Segment, 4)
	for i := range segs {
		segs[i] = &Segment{Packs: make([]Pack, 5)}
		for j := range segs[i].Packs {
			segs[i].Packs[j].Blobs = make([]Blob, 5000)
			synthPack(r, &segs[i].Packs[j])
		}
	}
	b.Run("AddSegments", func(b *testing.B) {
		for b.Loop() {
			if err := New().AddSegments(segs); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("AddPack", func(b *testing.B) {
		for b.Loop() {
			ix := New()
			for _, s := range segs {
				for _, p := range s.Packs {
					if err := ix.AddPack(p); err != nil {
						b.Fatal(err)
					}
				}
			}
		}
	})
}
