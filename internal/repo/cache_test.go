package repo

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/cairn-backup/cairn/internal/pack"
	"github.com/cairn-backup/cairn/remote"
	"github.com/cairn-backup/cairn/remote/remotetest"
)

func cachedFiles(t *testing.T, opts Options, r *Repo, kind string) []string {
	t.Helper()
	m, _ := filepath.Glob(filepath.Join(opts.CacheDir, r.ID().String(), kind, "*"))
	return m
}

func TestCacheRebuiltWhenDamaged(t *testing.T) {
	ctx := context.Background()
	st := remotetest.NewFaulty(remotetest.NewMem())
	opts := testOptions(t, "pw")
	r := initRepo(t, st, opts)
	tree := []byte("manifest node")
	id, _, err := session(r).SaveBlob(ctx, pack.Tree, tree)
	if err != nil {
		t.Fatal(err)
	}
	if err := session(r).Flush(ctx); err != nil {
		t.Fatal(err)
	}
	segs, packs := cachedFiles(t, opts, r, "index"), cachedFiles(t, opts, r, "packs")
	if len(segs) != 1 || len(packs) != 1 {
		t.Fatalf("cache holds %d segments and %d packs, want 1 and 1", len(segs), len(packs))
	}
	for _, p := range append(segs, packs...) {
		if err := os.WriteFile(p, []byte("garbage"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	gets := st.Calls(remotetest.OpGet)
	back, err := Open(ctx, st, opts)
	if err != nil {
		t.Fatal(err)
	}
	got, err := back.LoadBlob(ctx, pack.Tree, id)
	if err != nil || !bytes.Equal(got, tree) {
		t.Fatalf("LoadBlob through a damaged cache = %q, %v", got, err)
	}
	if st.Calls(remotetest.OpGet) == gets {
		t.Fatal("damaged cache entries were used instead of refetched")
	}
	for _, p := range append(segs, packs...) {
		if data, _ := os.ReadFile(p); bytes.Equal(data, []byte("garbage")) {
			t.Fatalf("cache entry %s was not repaired", filepath.Base(p))
		}
	}
	// A warm cache serves a new session without any read of the repository's index or packs.
	gets = st.Calls(remotetest.OpGet, remote.Index, remote.Data)
	again, _ := Open(ctx, st, opts)
	if _, err := again.LoadBlob(ctx, pack.Tree, id); err != nil {
		t.Fatal(err)
	}
	if n := st.Calls(remotetest.OpGet, remote.Index, remote.Data); n != gets {
		t.Fatalf("warm cache still read %d objects from the repository", n-gets)
	}
}

func TestCacheDropsDeletedSegments(t *testing.T) {
	ctx := context.Background()
	st := remotetest.NewMem()
	opts := testOptions(t, "pw")
	r := initRepo(t, st, opts)
	if _, _, err := session(r).SaveBlob(ctx, pack.Data, []byte("x")); err != nil {
		t.Fatal(err)
	}
	if err := session(r).Flush(ctx); err != nil {
		t.Fatal(err)
	}
	segs := cachedFiles(t, opts, r, "index")
	if len(segs) != 1 {
		t.Fatalf("%d cached segments", len(segs))
	}
	if err := st.Delete(ctx, remote.Handle{Type: remote.Index, Name: filepath.Base(segs[0])}); err != nil {
		t.Fatal(err)
	}
	back, _ := Open(ctx, st, opts)
	if err := back.LoadIndex(ctx); err != nil {
		t.Fatal(err)
	}
	if back.idx.Len() != 0 || len(cachedFiles(t, opts, r, "index")) != 0 {
		t.Fatal("a segment deleted from the repository survived in the cache")
	}
}
