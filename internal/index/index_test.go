package index

import (
	"errors"
	"math/rand/v2"
	"sync"
	"testing"

	"github.com/cairn-backup/cairn/internal/digest"
)

// forms are the ways an index holds its tables: whole ids in memory; compact (id
// prefixes confirmed against the spill file) from the first table on; and turning
// compact once it holds compactMin blobs.
var forms = []struct {
	name       string
	compactMin int
}{{"memory", 0}, {"compact", 1}, {"turning", 300}}

// formIndex returns an empty index of form f, whose spill file Close removes.
func formIndex(t *testing.T, compactMin, freshMin int) *Index {
	ix := newIndex(freshMin)
	ix.compactMin, ix.spillDir = compactMin, t.TempDir()
	t.Cleanup(func() {
		if err := ix.Close(); err != nil {
			t.Error(err)
		}
	})
	return ix
}

// tables returns how many blobs ix holds in its tables, and its largest table's size.
func (ix *Index) tables() (int, int) {
	return ix.base.n + ix.recent.n + ix.cbase.n + ix.crecent.n, max(ix.base.n, ix.cbase.n)
}

// oracle is the index the tests trust: plain maps.
type oracle struct {
	blobs map[blobKey]Location
	packs map[digest.ID]uint64
	keys  []blobKey // in the order first added, to pick known ids
	order []digest.ID
}

func newOracle() *oracle {
	return &oracle{blobs: map[blobKey]Location{}, packs: map[digest.ID]uint64{}}
}

func (o *oracle) add(p Pack) error {
	if size, ok := o.packs[p.ID]; ok && size != p.Size {
		return ErrCorrupt
	}
	if err := checkPack(&p); err != nil {
		return err
	}
	if _, ok := o.packs[p.ID]; !ok {
		o.packs[p.ID] = p.Size
		o.order = append(o.order, p.ID)
	}
	for _, b := range p.Blobs {
		k := blobKey{b.ID, b.Type}
		if _, ok := o.blobs[k]; !ok {
			o.blobs[k] = Location{p.ID, b.Offset, b.Length}
			o.keys = append(o.keys, k)
		}
	}
	return nil
}

// randomPack returns a pack whose values grow with step, so that the index changes its
// layout as it goes. Some blobs repeat known ids, under the same type or the other.
func randomPack(r *rand.Rand, o *oracle, step int) Pack {
	if len(o.order) > 0 && r.IntN(20) == 0 { // a pack listed again, maybe with another size
		id := o.order[r.IntN(len(o.order))]
		return Pack{ID: id, Size: o.packs[id] + uint64(r.IntN(2))}
	}
	offLimit := uint32(min(MaxOffset, 16<<(step/50)))
	lenLimit := uint32(min(MaxLength, 4<<(step/60)))
	p := Pack{ID: randomID(r), Size: uint64(offLimit) + uint64(lenLimit)}
	for range r.IntN(12) {
		b := Blob{Type: BlobType(r.IntN(2)), ID: randomID(r), Offset: r.Uint32N(offLimit), Length: 1 + r.Uint32N(lenLimit)}
		if len(o.keys) > 0 && r.IntN(4) == 0 {
			k := o.keys[r.IntN(len(o.keys))]
			b.ID, b.Type = k.id, BlobType(r.IntN(2))
		}
		p.Blobs = append(p.Blobs, b)
	}
	if r.IntN(50) == 0 && len(p.Blobs) > 0 { // one bad blob: nothing of the pack may be added
		p.Blobs[len(p.Blobs)-1].Length = 0
	}
	return p
}

// check compares ix with o on every known key, on misses, and on Len.
func check(t *testing.T, ix *Index, o *oracle, r *rand.Rand) {
	t.Helper()
	for k, want := range o.blobs {
		if got, ok := ix.Lookup(k.typ, k.id); !ok || got != want {
			t.Fatalf("Lookup(%s, %s) = %v, %v; want %v", k.typ, k.id.Short(), got, ok, want)
		}
	}
	for range 100 {
		k := blobKey{randomID(r), BlobType(r.IntN(2))}
		if len(o.keys) > 0 && r.IntN(2) == 0 { // a known id under the other type
			k = o.keys[r.IntN(len(o.keys))]
			k.typ ^= 1
		}
		_, want := o.blobs[k]
		if ix.Has(k.typ, k.id) != want {
			t.Fatalf("Has(%s, %s) = %v, want %v", k.typ, k.id.Short(), !want, want)
		}
	}
	if ix.Len() != len(o.blobs) {
		t.Fatalf("Len = %d, want %d", ix.Len(), len(o.blobs))
	}
}

func TestIndexAgainstMap(t *testing.T) {
	for _, f := range forms {
		t.Run(f.name, func(t *testing.T) { testIndexAgainstMap(t, f.compactMin) })
	}
}

func testIndexAgainstMap(t *testing.T, compactMin int) {
	for _, freshMin := range []int{1, 5, 64, defaultFreshMin} {
		r := rand.New(rand.NewPCG(uint64(freshMin), 7))
		ix, o := formIndex(t, compactMin, freshMin), newOracle()
		for step := range 1500 {
			p := randomPack(r, o, step)
			want := o.add(p)
			if err := ix.AddPack(p); errors.Is(err, ErrCorrupt) != errors.Is(want, ErrCorrupt) || (err == nil) != (want == nil) {
				t.Fatalf("freshMin %d step %d: AddPack = %v, want %v", freshMin, step, err, want)
			}
			if step%100 == 0 {
				check(t, ix, o, r)
			}
		}
		check(t, ix, o, r)
		if _, base := ix.tables(); base == 0 || (compactMin == 0 && ix.base.lay.packBits < 10) || (compactMin > 0) != (ix.spill != nil) {
			t.Fatalf("freshMin %d: the test did not reach the tables: base %d entries, layout %+v, spill %v", freshMin, base, ix.base.lay, ix.spill != nil)
		}
		t.Logf("freshMin %d: %d blobs in the map, %d in recent, %d in base (%d, %d compact)", freshMin, len(ix.fresh), ix.recent.n, ix.base.n, ix.crecent.n, ix.cbase.n)
		checkEach(t, ix, o)
	}
}

// checkEach tests that EachBlob visits each entry exactly once and EachPack each pack.
func checkEach(t *testing.T, ix *Index, o *oracle) {
	t.Helper()
	seen := map[blobKey]bool{}
	ix.EachBlob(func(typ BlobType, id digest.ID, loc Location) bool {
		k := blobKey{id, typ}
		if seen[k] || o.blobs[k] != loc {
			t.Fatalf("EachBlob: %s %s at %v: seen before %v, want location %v", typ, id.Short(), loc, seen[k], o.blobs[k])
		}
		seen[k] = true
		return true
	})
	if len(seen) != len(o.blobs) {
		t.Fatalf("EachBlob visited %d blobs, want %d", len(seen), len(o.blobs))
	}
	var packs []digest.ID
	ix.EachPack(func(id digest.ID, size uint64) bool {
		if got, ok := ix.PackSize(id); !ok || got != size || size != o.packs[id] {
			t.Fatalf("pack %s: EachPack size %d, PackSize %d %v, want %d", id.Short(), size, got, ok, o.packs[id])
		}
		packs = append(packs, id)
		return true
	})
	if len(packs) != len(o.order) {
		t.Fatalf("EachPack visited %d packs, want %d", len(packs), len(o.order))
	}
	for i := range packs {
		if packs[i] != o.order[i] {
			t.Fatalf("EachPack: pack %d is %s, want %s", i, packs[i].Short(), o.order[i].Short())
		}
	}
	n := 0
	ix.EachBlob(func(BlobType, digest.ID, Location) bool { n++; return n < 3 })
	if n != min(3, len(o.blobs)) {
		t.Fatalf("EachBlob went on after fn returned false: %d calls", n)
	}
}

func TestDuplicatesAndTypes(t *testing.T) {
	for _, f := range forms {
		t.Run(f.name, func(t *testing.T) { testDuplicatesAndTypes(t, formIndex(t, f.compactMin, 1)) })
	}
}

func testDuplicatesAndTypes(t *testing.T, ix *Index) {
	id := testID("x")
	p1 := Pack{ID: testID("p1"), Size: 100, Blobs: []Blob{{Data, id, 0, 10}, {Data, id, 10, 10}}}
	p2 := Pack{ID: testID("p2"), Size: 100, Blobs: []Blob{{Data, id, 50, 10}, {Tree, id, 60, 5}}}
	for _, p := range []Pack{p1, p2, p1} {
		if err := ix.AddPack(p); err != nil {
			t.Fatal(err)
		}
	}
	if got, _ := ix.Lookup(Data, id); got != (Location{p1.ID, 0, 10}) {
		t.Errorf("data: %v, want the first location", got)
	}
	if got, _ := ix.Lookup(Tree, id); got != (Location{p2.ID, 60, 5}) {
		t.Errorf("tree: %v", got)
	}
	if ix.Len() != 2 {
		t.Errorf("Len = %d, want 2", ix.Len())
	}
	if size, ok := ix.PackSize(p2.ID); !ok || size != 100 {
		t.Errorf("PackSize = %d, %v", size, ok)
	}
	if _, ok := ix.PackSize(testID("p3")); ok {
		t.Error("PackSize of an unknown pack")
	}
	p1.Size = 99
	p1.Blobs = []Blob{{Tree, testID("y"), 0, 1}}
	if err := ix.AddPack(p1); !errors.Is(err, ErrCorrupt) || ix.Has(Tree, testID("y")) {
		t.Errorf("AddPack with another size = %v; or its blob was added", err)
	}
}

func TestAddSegment(t *testing.T) {
	for _, f := range forms {
		t.Run(f.name, func(t *testing.T) { testAddSegment(t, formIndex(t, f.compactMin, defaultFreshMin)) })
	}
}

func testAddSegment(t *testing.T, ix *Index) {
	for _, s := range testSegments() {
		if err := ix.AddSegment(s); err != nil {
			t.Fatal(err)
		}
	}
	if got, ok := ix.Lookup(Tree, testID("c")); !ok || got != (Location{testID("p3"), MaxOffset, MaxLength}) {
		t.Errorf("Lookup = %v, %v", got, ok)
	}
	bad := &Segment{Packs: []Pack{{ID: testID("new"), Size: 1}, {ID: testID("p"), Size: 1, Blobs: []Blob{{Length: 2}}}}}
	if err := ix.AddSegment(bad); !errors.Is(err, ErrCorrupt) {
		t.Errorf("AddSegment = %v, want ErrCorrupt", err)
	}
	if _, ok := ix.PackSize(testID("new")); ok {
		t.Error("a segment that fails its checks was partly added")
	}
}

// TestConcurrentLookups runs lookups while packs are added and merged (go test -race).
func TestConcurrentLookups(t *testing.T) {
	for _, f := range forms {
		t.Run(f.name, func(t *testing.T) { testConcurrentLookups(t, formIndex(t, f.compactMin, 8)) })
	}
}

func testConcurrentLookups(t *testing.T, ix *Index) {
	r := rand.New(rand.NewPCG(5, 6))
	o := newOracle()
	var packs []Pack
	for step := range 400 {
		packs = append(packs, randomPack(r, o, step))
		_ = o.add(packs[step])
	}
	before := packs[:200]
	for _, p := range before {
		_ = ix.AddPack(p)
	}
	var wg sync.WaitGroup
	wg.Go(func() {
		for _, p := range packs[200:] {
			_ = ix.AddPack(p)
		}
	})
	for g := range 2 {
		wg.Go(func() {
			for i := range 5000 {
				p := before[(i*7+g)%len(before)]
				for _, b := range p.Blobs {
					k := blobKey{b.ID, b.Type}
					if want, ok := o.blobs[k]; ok && want.Pack == p.ID {
						if got, ok := ix.Lookup(b.Type, b.ID); !ok || got != want {
							t.Errorf("Lookup(%s) = %v, %v; want %v", b.ID.Short(), got, ok, want)
							return
						}
					}
				}
				ix.EachPack(func(digest.ID, uint64) bool { return false })
			}
		})
	}
	wg.Go(func() { ix.EachBlob(func(BlobType, digest.ID, Location) bool { return true }) })
	wg.Wait()
	check(t, ix, o, r)
}

func TestZeroIndex(t *testing.T) {
	var ix Index
	if err := ix.AddPack(Pack{ID: testID("p"), Size: 10, Blobs: []Blob{{Tree, testID("t"), 2, 8}}}); err != nil {
		t.Fatal(err)
	}
	if got, ok := ix.Lookup(Tree, testID("t")); !ok || got != (Location{testID("p"), 2, 8}) || ix.Len() != 1 {
		t.Errorf("Lookup = %v, %v; Len %d", got, ok, ix.Len())
	}
	if Data.String() != "data" || Tree.String() != "tree" || BlobType(9).String() != "BlobType(9)" {
		t.Error("BlobType.String")
	}
}
