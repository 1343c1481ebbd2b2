package verify

import (
	"context"
	"errors"
	"testing"

	"github.com/cairn-backup/cairn/internal/digest"
	"github.com/cairn-backup/cairn/internal/index"
	"github.com/cairn-backup/cairn/internal/repo"
	"github.com/cairn-backup/cairn/remote"
	"github.com/cairn-backup/cairn/remote/remotetest"
)

// damaged is a repository of three snapshots that share most of their data.
func damaged(t *testing.T) *env {
	e := newEnv(t)
	e.tree("a")
	e.backup()
	e.tree("b")
	e.backup()
	e.write(map[string]int{"a/d1/s1/f01": 5000, "c/new": 300_000})
	e.backup()
	e.clean(Options{ReadData: true})
	return e
}

// pickFlip chooses a byte inside a blob the index places in pack p and returns its
// position and the blobs a flip there makes bad, computed from the index.
func (e *env) pickFlip(r *repo.Repo, p digest.ID) (int64, map[blobKey]bool) {
	var locs []repo.Blob
	r.EachBlob(func(loc repo.Blob) bool {
		if loc.Pack == p {
			locs = append(locs, loc)
		}
		return true
	})
	loc := locs[e.rng.IntN(len(locs))]
	pos := int64(loc.Offset) + e.rng.Int64N(int64(loc.Length))
	return pos, blobsAt(r, p, pos, pos+1)
}

func (e *env) flip(p digest.ID, pos int64) {
	b := e.get(packHandle(p))
	b[pos] ^= 0x10
	e.put(packHandle(p), b)
}

func TestFlippedByteInDataPack(t *testing.T) {
	t.Parallel()
	e := damaged(t)
	r := loaded(t, e.open())
	packs := packsOf(r, repo.DataBlob)
	p := packs[e.rng.IntN(len(packs))]
	pos, bad := e.pickFlip(r, p)
	want := groundTruth(t, r, bad)
	e.flip(p, pos)

	if rep, err := e.verify(Options{}); err != nil || rep.Damaged() {
		t.Fatalf("the structure check reads no data, yet: %v %+v", err, rep.Problems)
	}
	rep, err := e.verify(Options{ReadData: true})
	wantDamage(t, rep, err, PackDamaged)
	sameKeys(t, "flipped data byte", affectedKeys(rep), want)
	if len(rep.BadBlobs) != len(bad) || rep.StateSaved {
		t.Fatalf("bad blobs %+v, want %d; state saved %v", rep.BadBlobs, len(bad), rep.StateSaved)
	}
}

func TestFlippedByteInTreePack(t *testing.T) {
	t.Parallel()
	e := damaged(t)
	r := loaded(t, e.open())
	packs := packsOf(r, repo.TreeBlob)
	p := packs[e.rng.IntN(len(packs))]
	pos, bad := e.pickFlip(r, p)
	want := groundTruth(t, r, bad)
	e.flip(p, pos)

	rep, err := e.verify(Options{}) // tree packs are read by the structure check itself
	wantDamage(t, rep, err, PackDamaged)
	sameKeys(t, "flipped tree byte", affectedKeys(rep), want)
	rep, err = e.verify(Options{ReadData: true})
	wantDamage(t, rep, err, BlobDamaged)
	sameKeys(t, "flipped tree byte, read-data", affectedKeys(rep), want)
}

func TestDeletedPack(t *testing.T) {
	t.Parallel()
	e := damaged(t)
	r := loaded(t, e.open())
	for _, kind := range []repo.BlobType{repo.DataBlob, repo.TreeBlob} {
		p := packsOf(r, kind)[0]
		bad := blobsAt(r, p, 0, 1<<40)
		want := groundTruth(t, r, bad)
		b := e.get(packHandle(p))
		e.del(packHandle(p))
		rep, err := e.verify(Options{ReadData: kind == repo.TreeBlob})
		wantDamage(t, rep, err, PackMissing)
		sameKeys(t, "deleted "+kind.String()+" pack", affectedKeys(rep), want)
		e.put(packHandle(p), b)
	}
}

func TestTruncatedPack(t *testing.T) {
	t.Parallel()
	e := damaged(t)
	r := loaded(t, e.open())
	p := packsOf(r, repo.DataBlob)[1]
	b := e.get(packHandle(p))
	cut := int64(len(b) / 2)
	bad := blobsAt(r, p, cut, 1<<40)
	want := groundTruth(t, r, bad)
	e.put(packHandle(p), b[:cut])
	for _, read := range []bool{false, true} {
		rep, err := e.verify(Options{ReadData: read})
		wantDamage(t, rep, err, PackSize)
		sameKeys(t, "truncated pack", affectedKeys(rep), want)
		if read && !hasProblem(rep, PackHeader) {
			t.Fatalf("read-data of a truncated pack: %+v", rep.Problems)
		}
	}
}

// TestIndexWrongOffset replaces the index with a crafted one, written with the
// project's own encoder and sealing, in which one blob's offset is wrong.
func TestIndexWrongOffset(t *testing.T) {
	t.Parallel()
	e := damaged(t)
	ctx := context.Background()
	r := loaded(t, e.open())
	victim := packsOf(r, repo.DataBlob)[2]
	seg := &index.Segment{}
	var moved blobKey
	r.EachPack(func(id digest.ID, size uint64) bool {
		p := index.Pack{ID: id, Size: size}
		for b := range blobsAt(r, id, 0, 1<<40) {
			loc, _ := r.Lookup(b.t, b.id)
			bl := index.Blob{Type: b.t, ID: b.id, Offset: loc.Offset, Length: loc.Length}
			if id == victim && moved == (blobKey{}) && b.t == repo.DataBlob {
				bl.Offset++ // still inside the pack: only the header can tell
				moved = b
			}
			p.Blobs = append(p.Blobs, bl)
		}
		seg.Packs = append(seg.Packs, p)
		return true
	})
	want := groundTruth(t, r, map[blobKey]bool{moved: true})
	var old []string
	_ = e.store.List(ctx, remote.Index, func(i remote.Info) error { old = append(old, i.Name); return nil })
	if _, err := r.SaveIndexSegment(ctx, seg); err != nil {
		t.Fatal(err)
	}
	for _, name := range old {
		e.del(remote.Handle{Type: remote.Index, Name: name})
	}
	rep, err := e.verify(Options{ReadData: true})
	wantDamage(t, rep, err, IndexMismatch)
	sameKeys(t, "wrong offset", affectedKeys(rep), want)
}

// TestDamagedIndexSegment: a segment with a flipped byte is index damage (exit 4);
// its packs are whole, so every snapshot still restores and none is affected.
func TestDamagedIndexSegment(t *testing.T) {
	t.Parallel()
	e := damaged(t)
	var name string
	_ = e.store.List(context.Background(), remote.Index, func(i remote.Info) error { name = i.Name; return nil })
	h := remote.Handle{Type: remote.Index, Name: name}
	b := e.get(h)
	b[len(b)/2] ^= 1
	e.put(h, b)
	rep, err := e.verify(Options{})
	wantDamage(t, rep, err, IndexDamaged)
	// Its blobs are found in the packs' own headers, as a restore finds them: the
	// segment is the damage, and no file is called unrestorable.
	if len(rep.Affected) != 0 || len(rep.BadBlobs) != 0 {
		t.Fatalf("a damaged index segment whose packs are whole: files called affected: %+v", rep)
	}
}

// TestTransientFaultIsNotDamage: a read of a data pack fails once; the re-read cures
// it, and the pack is not reported.
func TestTransientFaultIsNotDamage(t *testing.T) {
	t.Parallel()
	e := damaged(t)
	r := loaded(t, e.open())
	p := packsOf(r, repo.DataBlob)[0]
	e.store.Add(remotetest.Fault{Op: remotetest.OpGet, Type: remote.Data, Name: p.String(), Nth: 1, Repeat: 1, Kind: remotetest.Fail})
	e.store.Add(remotetest.Fault{Op: remotetest.OpGet, Type: remote.Data, Name: packsOf(r, repo.DataBlob)[1].String(), Nth: 1, Repeat: 1,
		Kind: remotetest.GetFlip, Seed: 3})
	rep := e.clean(Options{ReadData: true})
	e.store.Verify(t)
	if rep.Retried != 2 || !rep.StateSaved {
		t.Fatalf("retried %d reads, want 2; state saved %v", rep.Retried, rep.StateSaved)
	}
}

// TestPersistentReadFailureIsNotDamage: a pack the storage never returns cannot be
// judged: verify says so, without calling it damaged.
func TestPersistentReadFailureIsNotDamage(t *testing.T) {
	t.Parallel()
	e := damaged(t)
	r := loaded(t, e.open())
	p := packsOf(r, repo.DataBlob)[0]
	e.store.Add(remotetest.Fault{Op: remotetest.OpGet, Type: remote.Data, Name: p.String(), Nth: 1, Repeat: -1, Kind: remotetest.Fail})
	rep, err := e.verify(Options{ReadData: true})
	if !errors.Is(err, ErrIncomplete) || rep.Damaged() || !hasProblem(rep, Unreadable) {
		t.Fatalf("got %v %+v", err, rep.Problems)
	}
}
