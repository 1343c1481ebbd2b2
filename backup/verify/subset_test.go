package verify

import (
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/cairn-backup/cairn/internal/digest"
	"github.com/cairn-backup/cairn/internal/repo"
)

func randomIDs(n int, seed uint64) []digest.ID {
	rng := rand.New(rand.NewPCG(seed, seed))
	ids := make([]digest.ID, n)
	for i := range ids {
		for j := range ids[i] {
			ids[i][j] = byte(rng.Uint32())
		}
	}
	return ids
}

// TestSubsetsPartition: for every m, the subsets 1/m … m/m are disjoint and cover
// every pack, whatever the ids.
func TestSubsetsPartition(t *testing.T) {
	t.Parallel()
	for seed := range uint64(20) {
		ids := randomIDs(2000, seed)
		ids = append(ids, digest.ID{}, digest.ID{0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff})
		for m := uint64(1); m <= 17; m++ {
			count := map[digest.ID]int{}
			total := 0
			for n := uint64(1); n <= m; n++ {
				s := Subset{N: n, M: m}
				for _, id := range s.pick(ids) {
					count[id]++
					total++
				}
			}
			if total != len(ids) || len(count) != len(ids) {
				t.Fatalf("seed %d, m %d: %d picks of %d distinct ids, want each of %d once", seed, m, total, len(count), len(ids))
			}
		}
	}
}

func TestPercentSample(t *testing.T) {
	t.Parallel()
	ids := randomIDs(1000, 1)
	a := Subset{Percent: 5, Seed: 42}.pick(ids)
	if len(a) != 50 {
		t.Fatalf("5%% of 1000 packs: %d", len(a))
	}
	if b := (Subset{Percent: 5, Seed: 42}).pick(ids); !slices.Equal(a, b) {
		t.Fatal("the same seed drew other packs")
	}
	if c := (Subset{Percent: 5, Seed: 43}).pick(ids); slices.Equal(a, c) {
		t.Fatal("another seed drew the same packs")
	}
	if d := (Subset{Percent: 0.01, Seed: 1}).pick(ids); len(d) != 1 {
		t.Fatalf("a tiny percentage reads %d packs, want 1", len(d))
	}
}

func TestParseSubset(t *testing.T) {
	t.Parallel()
	for s, want := range map[string]Subset{"1/1": {N: 1, M: 1}, "3/7": {N: 3, M: 7}, "5%": {Percent: 5, Seed: 9}, "100%": {Percent: 100, Seed: 9}} {
		got, err := ParseSubset(s, 9)
		if err != nil || got != want {
			t.Errorf("%q: %+v %v", s, got, err)
		}
	}
	for _, s := range []string{"0/3", "4/3", "1/0", "x/3", "3", "0%", "101%", "NaN%", "-1%", "", "1/2/3"} {
		if _, err := ParseSubset(s, 0); err == nil {
			t.Errorf("%q accepted", s)
		}
	}
}

func TestReadDataSubsetsCoverAll(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	chain(e)
	read := 0
	for _, s := range []string{"1/3", "2/3", "3/3"} {
		sub, _ := ParseSubset(s, 0)
		rep := e.clean(Options{ReadData: true, Subset: &sub})
		read += rep.PacksRead
	}
	if rep := e.clean(Options{}); read != rep.Packs || read == 0 {
		t.Fatalf("subsets read %d packs, the repository has %d", read, rep.Packs)
	}
}

func TestSinceLast(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.tree("a")
	e.backup()
	first := e.clean(Options{SinceLast: true})
	if first.PacksRead != first.Packs || !first.StateSaved {
		t.Fatalf("first since-last verify read %d of %d packs", first.PacksRead, first.Packs)
	}
	if again := e.clean(Options{SinceLast: true}); again.PacksRead != 0 {
		t.Fatalf("nothing new, yet %d packs read", again.PacksRead)
	}
	r := loaded(t, e.open())
	before := map[digest.ID]bool{}
	r.EachPack(func(id digest.ID, _ uint64) bool { before[id] = true; return true })
	e.tree("b")
	e.backup()
	r = loaded(t, e.open())
	var added []digest.ID
	r.EachPack(func(id digest.ID, _ uint64) bool {
		if !before[id] {
			added = append(added, id)
		}
		return true
	})
	next := e.clean(Options{SinceLast: true})
	if next.PacksRead != len(added) || len(added) == 0 {
		t.Fatalf("since-last read %d packs, %d were added", next.PacksRead, len(added))
	}
	// A damaged new pack is found, and keeps the state from advancing.
	e.tree("c")
	e.backup()
	r = loaded(t, e.open())
	var newest digest.ID
	for _, p := range packsOf(r, repo.DataBlob) {
		if !before[p] && !slices.Contains(added, p) {
			newest = p
			break
		}
	}
	pos, _ := e.pickFlip(r, newest)
	e.flip(newest, pos)
	for range 2 {
		if rep, err := e.verify(Options{SinceLast: true}); err == nil || rep.StateSaved {
			t.Fatalf("since-last missed a damaged new pack: %v", err)
		}
	}
}

// SinceLast with a Subset (a nightly job's verify) reads the new packs and the slice
// in one pass: over all slices, every pack is read again though none is new.
func TestSinceLastWithSlice(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	chain(e)
	first := e.clean(Options{SinceLast: true})
	if first.PacksRead != first.Packs || first.Packs < 3 {
		t.Fatalf("first verify read %d of %d packs", first.PacksRead, first.Packs)
	}
	read := 0
	for _, s := range []string{"1/3", "2/3", "3/3"} {
		sub, _ := ParseSubset(s, 0)
		rep := e.clean(Options{SinceLast: true, Subset: &sub})
		read += rep.PacksRead
	}
	if read != first.Packs {
		t.Fatalf("slices with since-last read %d packs, the repository has %d", read, first.Packs)
	}
}
