package prune

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/cairn-backup/cairn/internal/digest"
	"github.com/cairn-backup/cairn/internal/repo"
	"github.com/cairn-backup/cairn/remote"
)

// putText writes a file of compressible text, stored as a zstd payload.
func (e *env) putText(name string, size int) {
	e.t.Helper()
	var b bytes.Buffer
	for b.Len() < size {
		fmt.Fprintf(&b, "line %d of %s: %d\n", b.Len(), name, e.rng.IntN(1000))
	}
	data := b.Bytes()[:size]
	if err := os.WriteFile(filepath.Join(e.src, name), data, 0o644); err != nil {
		e.t.Fatal(err)
	}
	e.files[name] = data
}

// halfUsed backs up kept and dropped small files that share packs (text and random
// data), drops half of them, and forgets the first snapshot: every pack is then
// half used. It returns the snapshot that stays.
func (e *env) halfUsed() digest.ID {
	for i := range 12 {
		e.put(fmt.Sprintf("keep%02d", i), 15_000)
		e.putText(fmt.Sprintf("text%02d", i), 40_000)
		e.put(fmt.Sprintf("drop%02d", i), 15_000)
	}
	s1 := e.backup()
	for i := range 12 {
		e.remove(fmt.Sprintf("drop%02d", i))
	}
	s2 := e.backup()
	e.forget(s1)
	return s2
}

// sealedBlob returns where the index places a file's single data blob, and its
// stored bytes.
func (e *env) sealedBlob(name string) (repo.Blob, []byte) {
	e.t.Helper()
	r := e.open()
	defer r.Close()
	if err := r.LoadIndex(e.t.Context()); err != nil {
		e.t.Fatal(err)
	}
	b, ok := r.Lookup(repo.DataBlob, digest.Of(e.files[name]))
	if !ok {
		e.t.Fatalf("%s is not one blob", name)
	}
	h := remote.Handle{Type: remote.Data, Name: b.Pack.String()}
	data, err := remote.ReadAll(e.t.Context(), e.store, h, int64(b.Offset), int64(b.Length), int64(b.Length))
	if err != nil {
		e.t.Fatal(err)
	}
	return b, data
}

// Repacking copies each used blob as it is stored (compressed or raw, with its
// nonce): nothing is recompressed or sealed again, and the copies restore exactly.
func TestRepackCopiesSealedBlobsVerbatim(t *testing.T) {
	e := newEnv(t)
	s2 := e.halfUsed()
	names := []string{"keep00", "keep07", "text00", "text11"}
	before := map[string][]byte{}
	for _, n := range names {
		_, before[n] = e.sealedBlob(n)
	}
	if res := e.prune(Options{MaxUnused: -1}); res.Repacked == 0 {
		t.Fatalf("nothing repacked: %+v", res)
	}
	for _, n := range names {
		if _, after := e.sealedBlob(n); !bytes.Equal(after, before[n]) {
			t.Errorf("%s: the repacked blob's sealed bytes changed (%d → %d bytes)", n, len(before[n]), len(after))
		}
	}
	e.check(s2, e.files)
}

// A used blob damaged in a pack being repacked is refused, as damage, and copied
// into no new pack: the prune fails and deletes nothing.
func TestRepackRefusesTamperedBlob(t *testing.T) {
	e := newEnv(t)
	e.halfUsed()
	b, sealed := e.sealedBlob("text03")
	h := remote.Handle{Type: remote.Data, Name: b.Pack.String()}
	whole, err := remote.ReadAll(t.Context(), e.store, h, 0, 0, 1<<30)
	if err != nil {
		t.Fatal(err)
	}
	whole[int(b.Offset)+len(sealed)/2] ^= 0x08
	if err := e.store.Put(t.Context(), h, remote.Bytes(whole)); err != nil {
		t.Fatal(err)
	}
	tampered := whole[b.Offset:b.End()]
	packs := e.packs()
	r := e.open()
	defer r.Close()
	_, err = Run(t.Context(), r, Options{MaxUnused: -1})
	if !repo.IsDamage(err) {
		t.Fatalf("prune over a tampered used blob: err %v, want damage", err)
	}
	n := 0
	err = e.store.List(t.Context(), remote.Data, func(i remote.Info) error {
		n++
		ph := remote.Handle{Type: remote.Data, Name: i.Name}
		data, err := remote.ReadAll(t.Context(), e.store, ph, 0, 0, 1<<30)
		if err == nil && i.Name != b.Pack.String() && bytes.Contains(data, tampered) {
			return fmt.Errorf("the tampered blob was copied into pack %s", i.Name)
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	if n < packs {
		t.Errorf("%d packs before the failed prune, %d after", packs, n)
	}
}
