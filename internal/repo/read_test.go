package repo

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"testing"

	"github.com/cairn-backup/cairn/internal/digest"
	"github.com/cairn-backup/cairn/internal/pack"
	"github.com/cairn-backup/cairn/remote"
	"github.com/cairn-backup/cairn/remote/remotetest"
)

func TestSplitRuns(t *testing.T) {
	e := func(off, n uint32) pack.Entry { return pack.Entry{Offset: off, Length: n} }
	for _, c := range []struct {
		in   []pack.Entry
		want string
	}{
		{nil, "[]"},
		{[]pack.Entry{e(0, 10)}, "[1]"},
		{[]pack.Entry{e(0, 10), e(10, 10), e(20, 5)}, "[3]"},
		{[]pack.Entry{e(0, 10), e(10+MaxGap, 10)}, "[2]"},   // a gap of exactly MaxGap is read through
		{[]pack.Entry{e(0, 10), e(11+MaxGap, 10)}, "[1 1]"}, // one byte more is not
		{[]pack.Entry{e(0, 10), e(5, 10), e(15, 1)}, "[1 2]"},
	} {
		var sizes []int
		for _, r := range splitRuns(c.in, MaxGap) {
			sizes = append(sizes, len(r))
		}
		if got := fmt.Sprint(sizes); got != c.want && !(got == "[]" && c.want == "[]") {
			t.Errorf("splitRuns(%v) = %s, want %s", c.in, got, c.want)
		}
	}
}

// packOf stores blobs and returns the pack holding the first one, with the entries
// of the blobs in it (a backup spreads blobs over two open packs).
func packOf(t *testing.T, r *Repo, blobs [][]byte) (digest.ID, []Blob, map[digest.ID][]byte) {
	t.Helper()
	ctx := context.Background()
	plain := map[digest.ID][]byte{}
	var ids []digest.ID
	for _, b := range blobs {
		id, _, err := session(r).SaveBlob(ctx, pack.Data, b)
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, id)
		plain[id] = b
	}
	if err := session(r).Flush(ctx); err != nil {
		t.Fatal(err)
	}
	first, _ := r.Lookup(DataBlob, ids[0])
	var entries []Blob
	for _, id := range ids {
		if loc, ok := r.Lookup(DataBlob, id); ok && loc.Pack == first.Pack {
			entries = append(entries, loc)
		}
	}
	if len(entries) < 3 {
		t.Fatalf("%d blobs in the first pack, want 3", len(entries))
	}
	return first.Pack, entries[:3], plain
}

func readAllSealed(t *testing.T, r *Repo, p digest.ID, es []Blob) (map[digest.ID][]byte, map[digest.ID]error) {
	t.Helper()
	got, bad := map[digest.ID][]byte{}, map[digest.ID]error{}
	err := r.ReadBlobs(context.Background(), es, ReadOptions{},
		func(e Blob, sealed []byte, err error) error {
			if err == nil && e.Pack != p {
				err = fmt.Errorf("blob of pack %s handed back as one of %s", e.Pack.Short(), p.Short())
			}
			if err == nil {
				var plain []byte
				if plain, err = r.OpenSealed(e, sealed, nil); err == nil {
					got[e.ID] = plain
				}
			}
			if err != nil {
				bad[e.ID] = err
			}
			return nil
		})
	if err != nil {
		t.Fatal(err)
	}
	return got, bad
}

func TestReadSealedOneRequestRetriesAndDamage(t *testing.T) {
	st := remotetest.NewFaulty(remotetest.NewMem())
	r := initRepo(t, st, testOptions(t, "pw"))
	var blobs [][]byte
	for i := range 6 {
		blobs = append(blobs, bytes.Repeat([]byte{byte('a' + i)}, 100+1000*i))
	}
	p, es, plain := packOf(t, r, blobs)
	h := remote.Handle{Type: remote.Data, Name: p.String()}

	before := st.Calls(remotetest.OpGet, remote.Data)
	got, bad := readAllSealed(t, r, p, []Blob{es[2], es[0], es[1]}) // any order
	if len(bad) != 0 || len(got) != 3 || !bytes.Equal(got[es[1].ID], plain[es[1].ID]) {
		t.Fatalf("got %d blobs, errors %v", len(got), bad)
	}
	if n := st.Calls(remotetest.OpGet, remote.Data) - before; n != 1 {
		t.Fatalf("%d requests for three adjacent blobs, want 1", n)
	}

	// A read cut short is retried for what it did not deliver.
	cut := st.Add(remotetest.Fault{Op: remotetest.OpGet, Name: p.String(), Nth: 1, Kind: remotetest.GetTruncate,
		Keep: es[1].End() - int64(es[0].Offset) - 3})
	if got, bad := readAllSealed(t, r, p, es); len(bad) != 0 || len(got) != 3 || st.Fired(cut) != 1 {
		t.Fatalf("after a truncated read: %d blobs, errors %v", len(got), bad)
	}

	// Damage is per blob: the others still open.
	data, _ := remote.ReadAll(context.Background(), st, h, 0, 0, 1<<30)
	data[es[1].Offset+10] ^= 1
	if err := st.Put(context.Background(), h, remote.Bytes(data)); err != nil {
		t.Fatal(err)
	}
	got, bad = readAllSealed(t, r, p, es)
	if len(got) != 2 || !IsDamage(bad[es[1].ID]) {
		t.Fatalf("one damaged blob: %d opened, errors %v", len(got), bad)
	}

	if err := st.Delete(context.Background(), h); err != nil {
		t.Fatal(err)
	}
	_, bad = readAllSealed(t, r, p, es)
	if len(bad) != 3 || !errors.Is(bad[es[0].ID], ErrPackMissing) || !IsMissing(bad[es[0].ID]) {
		t.Fatalf("missing pack: %v", bad)
	}
}
