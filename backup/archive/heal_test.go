package archive

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/cairn-backup/cairn/internal/digest"
	"github.com/cairn-backup/cairn/internal/repo"
	"github.com/cairn-backup/cairn/manifest"
	"github.com/cairn-backup/cairn/remote"
)

// A pack lost from the storage is stored again by the next backup of the same data,
// and the new snapshot points only into packs that exist (RELIABILITY 5). Before, the
// index alone decided reuse: "0 B added", and a new snapshot damaged like the old one.
func TestLostPackStoredAgain(t *testing.T) {
	e := newEnv(t)
	src := filepath.Join(t.TempDir(), "src")
	writeTree(t, src, 5)
	e.backup(Options{Paths: []string{src}})
	lost := e.biggestPack()
	if err := e.store.Delete(t.Context(), remote.Handle{Type: remote.Data, Name: lost.String()}); err != nil {
		t.Fatal(err)
	}
	res, _ := e.backup(Options{Paths: []string{src}})
	if res.MissingPacks != 1 || res.Stats.BytesAdded == 0 {
		t.Fatalf("after losing a pack: %d missing, %d bytes added; want 1 and the lost data again",
			res.MissingPacks, res.Stats.BytesAdded)
	}
	// A new client, as a restore on another machine would be.
	r := e.open()
	r.PresentPacksOnly()
	s := snapshotTree(t, r, res.Snapshot)
	used, err := r.UsedBlobs(t.Context(), []repo.Snapshot{{ID: res.Snapshot, Snapshot: s}})
	if err != nil {
		t.Fatal(err)
	}
	for b := range used {
		if loc, ok := r.Lookup(b.Type, b.ID); !ok || loc.Pack == lost {
			t.Fatalf("blob %s of the new snapshot: in pack %s (found %v), the lost one is %s", b.ID.Short(), loc.Pack.Short(), ok, lost.Short())
		}
	}
	e.sameContent(r, s, src)
	// And the backup after that adds nothing: the blobs stored again are found.
	if res, _ := e.backup(Options{Paths: []string{src}}); res.Stats.BytesAdded != 0 || res.MissingPacks != 1 {
		t.Errorf("third backup: %d bytes added, %d packs missing; want 0 and still 1", res.Stats.BytesAdded, res.MissingPacks)
	}
}

func (e *env) biggestPack() digest.ID {
	e.t.Helper()
	var best remote.Info
	err := e.store.List(e.t.Context(), remote.Data, func(i remote.Info) error {
		if i.Size > best.Size {
			best = i
		}
		return nil
	})
	if err != nil {
		e.t.Fatal(err)
	}
	id, err := digest.Parse(best.Name)
	if err != nil {
		e.t.Fatal(err)
	}
	return id
}

// sameContent reads every file of the snapshot back through r, compares it with the
// source, and returns how many files it compared.
func (e *env) sameContent(r *repo.Repo, s *manifest.Snapshot, src string) int {
	e.t.Helper()
	ctx := context.Background()
	n := 0
	err := manifest.Walk(ctx, r, s.Tree, s.Root, func(p string, en *manifest.Entry) error {
		if en.Type != manifest.File {
			return nil
		}
		chunks, err := manifest.ReadChunks(ctx, r, en)
		if err != nil {
			return err
		}
		var buf bytes.Buffer
		for _, c := range chunks {
			data, err := r.LoadBlob(ctx, repo.DataBlob, c.ID)
			if err != nil {
				return err
			}
			buf.Write(data)
		}
		if want, err := os.ReadFile("/" + p); err != nil || !bytes.Equal(buf.Bytes(), want) {
			e.t.Errorf("%s differs after the round trip (%v)", p, err)
		}
		n++
		return nil
	})
	if err != nil || n == 0 {
		e.t.Fatalf("read back %d files: %v", n, err)
	}
	return n
}
