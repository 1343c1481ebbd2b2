package index

import (
	"cmp"
	"errors"
	"math/rand/v2"
	"slices"
	"testing"
)

// addBatch adds segs to the oracle as AddSegments promises: nothing if a pack breaks a
// limit, else every pack up to the first that conflicts.
func (o *oracle) addBatch(segs []*Segment) error {
	for _, s := range segs {
		for i := range s.Packs {
			if err := checkPack(&s.Packs[i]); err != nil {
				return err
			}
		}
	}
	for _, s := range segs {
		for _, p := range s.Packs {
			if err := o.add(p); err != nil {
				return err
			}
		}
	}
	return nil
}

// TestAddSegmentsAgainstMap mixes batches of segments (which repeat blobs and packs,
// within a batch and across) with single packs, and compares with the oracle.
func TestAddSegmentsAgainstMap(t *testing.T) {
	for _, f := range forms {
		t.Run(f.name, func(t *testing.T) { testAddSegmentsAgainstMap(t, f.compactMin) })
	}
}

func testAddSegmentsAgainstMap(t *testing.T, compactMin int) {
	for _, freshMin := range []int{1, 64, defaultFreshMin} {
		r := rand.New(rand.NewPCG(uint64(freshMin), 11))
		ix, o := formIndex(t, compactMin, freshMin), newOracle()
		for step := range 600 {
			if r.IntN(4) == 0 {
				p := randomPack(r, o, step)
				if err, want := ix.AddPack(p), o.add(p); (err == nil) != (want == nil) {
					t.Fatalf("freshMin %d step %d: AddPack = %v, want %v", freshMin, step, err, want)
				}
				continue
			}
			segs := make([]*Segment, 1+r.IntN(3))
			for i := range segs {
				segs[i] = &Segment{}
				for range r.IntN(8) {
					p := randomPack(r, o, step)
					// As in a pack file, blobs are listed in offset order.
					slices.SortStableFunc(p.Blobs, func(a, b Blob) int {
						return cmp.Or(cmp.Compare(a.Offset, b.Offset), cmp.Compare(a.Length, b.Length))
					})
					segs[i].Packs = append(segs[i].Packs, p)
				}
			}
			want := o.addBatch(segs)
			if err := ix.AddSegments(segs); errors.Is(err, ErrCorrupt) != errors.Is(want, ErrCorrupt) || (err == nil) != (want == nil) {
				t.Fatalf("freshMin %d step %d: AddSegments = %v, want %v", freshMin, step, err, want)
			}
			if step%50 == 0 {
				check(t, ix, o, r)
			}
		}
		check(t, ix, o, r)
		checkEach(t, ix, o)
		if _, base := ix.tables(); base == 0 {
			t.Fatalf("freshMin %d: the test did not reach the base table", freshMin)
		}
	}
}

// TestAddSegmentsFirstWins: a blob listed twice in one batch keeps its first location,
// and one the index already holds keeps the index's.
func TestAddSegmentsFirstWins(t *testing.T) {
	for _, f := range forms {
		t.Run(f.name, func(t *testing.T) { testAddSegmentsFirstWins(t, formIndex(t, f.compactMin, defaultFreshMin)) })
	}
}

func testAddSegmentsFirstWins(t *testing.T, ix *Index) {
	a, b := testID("a"), testID("b")
	if err := ix.AddPack(Pack{ID: testID("p0"), Size: 100, Blobs: []Blob{{Data, a, 0, 10}}}); err != nil {
		t.Fatal(err)
	}
	segs := []*Segment{
		{Packs: []Pack{{ID: testID("p1"), Size: 100, Blobs: []Blob{{Data, b, 5, 10}, {Data, a, 20, 10}}}}},
		{Packs: []Pack{{ID: testID("p2"), Size: 100, Blobs: []Blob{{Data, b, 30, 10}}}}},
	}
	if err := ix.AddSegments(segs); err != nil {
		t.Fatal(err)
	}
	if got, _ := ix.Lookup(Data, a); got != (Location{testID("p0"), 0, 10}) {
		t.Errorf("a: %v, want the index's location", got)
	}
	if got, _ := ix.Lookup(Data, b); got != (Location{testID("p1"), 5, 10}) {
		t.Errorf("b: %v, want the first listed", got)
	}
	if ix.Len() != 2 {
		t.Errorf("Len = %d, want 2", ix.Len())
	}
}
