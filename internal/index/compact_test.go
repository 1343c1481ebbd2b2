package index

import (
	"errors"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"

	"github.com/cairn-backup/cairn/internal/digest"
)

// prefixIDs returns n ids that share their first 31 bytes, as an attacker who can
// plant files might craft them (here simply written down).
func prefixIDs(n int) []digest.ID {
	base := testID("shared prefix")
	ids := make([]digest.ID, n)
	for i := range ids {
		ids[i] = base
		ids[i][digest.Size-1] = byte(i)
	}
	return ids
}

// TestCompactSharedPrefix: ids equal in all but their last byte, far beyond the bits a
// compact record keeps, are told apart by the full ids in the spill file, in both
// compact tables and through a merge; an absent id of the same prefix is not found.
func TestCompactSharedPrefix(t *testing.T) {
	for _, f := range forms {
		t.Run(f.name, func(t *testing.T) {
			ids := prefixIDs(8)
			ix := formIndex(t, f.compactMin, 1)
			o := newOracle()
			r := rand.New(rand.NewPCG(1, 1))
			for i, id := range ids[:6] { // 6 and 7 stay absent
				p := Pack{ID: randomID(r), Size: 1000, Blobs: []Blob{{Data, id, uint32(i), 10}}}
				if i%2 == 0 { // the same id again, as a tree
					p.Blobs = append(p.Blobs, Blob{Tree, id, 100 + uint32(i), 5})
				}
				for range 50 { // enough other blobs to fill and merge the tables
					p.Blobs = append(p.Blobs, Blob{BlobType(r.IntN(2)), randomID(r), 200, 1})
				}
				if err := errors.Join(ix.AddPack(p), o.add(p)); err != nil {
					t.Fatal(err)
				}
			}
			check(t, ix, o, r)
			for _, id := range ids[6:] {
				if ix.Has(Data, id) || ix.Has(Tree, id) {
					t.Errorf("Has(%s): an absent id that shares 31 bytes with present ones is found", id)
				}
			}
			for i, id := range ids[:6] {
				if got, ok := ix.Lookup(Data, id); !ok || got.Offset != uint32(i) {
					t.Errorf("Lookup(data, %s) = %v, %v; want offset %d", id, got, ok, i)
				}
				if ix.Has(Tree, id) != (i%2 == 0) {
					t.Errorf("Has(tree, %s) = %v", id, !(i%2 == 0))
				}
			}
			if f.compactMin > 0 && ix.spill == nil {
				t.Fatal("the index did not turn compact")
			}
		})
	}
}

// TestSpillFileRemoved: the spill file is gone from its directory as soon as it is
// created (where the system allows it) and after Close in any case.
func TestSpillFileRemoved(t *testing.T) {
	dir := t.TempDir()
	ix, o := newIndex(1), newOracle()
	ix.compactMin, ix.spillDir = 1, dir
	r := rand.New(rand.NewPCG(2, 2))
	for step := range 50 {
		p := randomPack(r, o, step)
		_ = errors.Join(ix.AddPack(p), o.add(p))
	}
	check(t, ix, o, r)
	if ix.spill == nil {
		t.Fatal("no spill file")
	}
	if err := ix.Close(); err != nil {
		t.Fatal(err)
	}
	if names, err := os.ReadDir(dir); err != nil || len(names) > 0 {
		t.Errorf("after Close the directory holds %v (%v)", names, err)
	}
}

// TestSpillUnavailable: if the spill file cannot be created, the index stays in memory
// and whole.
func TestSpillUnavailable(t *testing.T) {
	ix, o := newIndex(1), newOracle()
	ix.compactMin, ix.spillDir = 1, filepath.Join(t.TempDir(), "missing")
	r := rand.New(rand.NewPCG(3, 3))
	for step := range 300 {
		p := randomPack(r, o, step)
		_ = errors.Join(ix.AddPack(p), o.add(p))
	}
	check(t, ix, o, r)
	checkEach(t, ix, o)
	if ix.spill != nil || ix.base.n == 0 || ix.spillFailed == nil {
		t.Errorf("spill %v, base %d, failure %v: want the tables in memory", ix.spill != nil, ix.base.n, ix.spillFailed)
	}
}

// failingWrites fails every write once armed.
type failingWrites struct {
	spillFile
	armed *bool
}

var errDiskFull = errors.New("disk full")

func (f failingWrites) WriteAt(b []byte, off int64) (int, error) {
	if *f.armed {
		return 0, errDiskFull
	}
	return f.spillFile.WriteAt(b, off)
}

// TestSpillWriteFails: once the spill file refuses writes, new blobs stay in memory,
// through AddPack and AddSegments, the index stays whole, and Close reports the error.
func TestSpillWriteFails(t *testing.T) {
	ix, o := newIndex(4), newOracle()
	ix.compactMin, ix.spillDir = 1, t.TempDir()
	r := rand.New(rand.NewPCG(4, 4))
	armed := false
	for step := range 400 {
		if step == 200 {
			ix.spill.f, armed = failingWrites{ix.spill.f, &armed}, true
		}
		if step%3 == 0 {
			s := &Segment{Packs: []Pack{randomPack(r, o, step)}}
			_ = errors.Join(ix.AddSegments([]*Segment{s}), o.addBatch([]*Segment{s}))
			continue
		}
		p := randomPack(r, o, step)
		_ = errors.Join(ix.AddPack(p), o.add(p))
	}
	check(t, ix, o, r)
	checkEach(t, ix, o)
	if ix.spillFailed == nil || len(ix.fresh) < 100 {
		t.Errorf("failure %v, %d blobs in the map: want the new blobs kept in memory", ix.spillFailed, len(ix.fresh))
	}
	if err := ix.Close(); !errors.Is(err, errDiskFull) {
		t.Errorf("Close = %v, want the write error", err)
	}
}

func TestCLayout(t *testing.T) {
	for _, c := range []struct {
		n      int
		maxPos uint32
	}{{0, 0}, {1, 0}, {1000, 999}, {10_000_000, 10_000_000}, {1 << 30, 1<<32 - 1}} {
		l := newCLayout(c.n, c.maxPos)
		if l.size > 8 || ckeyBits-l.bucketBits+l.posBits > 8*l.size || l.bucketBits < minBucketBits || l.bucketBits > maxBucketBits {
			t.Errorf("newCLayout(%d, %d) = %+v", c.n, c.maxPos, l)
		}
	}
	if l := newCLayout(10_000_000, 10_000_000); l.size != 7 {
		t.Errorf("ten million records take %d bytes each, want 7", l.size)
	}
}

// failingReads is a spill file whose reads fail.
type failingReads struct{ spillFile }

func (failingReads) ReadAt([]byte, int64) (int, error) { return 0, errors.New("read failed") }

// TestSpillReadFailsEachBlob: when the spill file cannot be read back, EachBlob fails
// (verify and stats then stop with an error) instead of listing part of the index or
// panicking.
func TestSpillReadFailsEachBlob(t *testing.T) {
	ix, o := newIndex(1), newOracle()
	ix.compactMin, ix.spillDir = 1, t.TempDir()
	r := rand.New(rand.NewPCG(3, 3))
	for step := range 20 {
		p := randomPack(r, o, step)
		_ = errors.Join(ix.AddPack(p), o.add(p))
	}
	if ix.spill == nil {
		t.Fatal("no spill file")
	}
	ix.spill.f = failingReads{ix.spill.f}
	if err := ix.EachBlob(func(BlobType, digest.ID, Location) bool { return true }); err == nil {
		t.Error("EachBlob over an unreadable spill file: no error")
	}
	_ = ix.Close()
}
