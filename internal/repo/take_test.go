package repo

import (
	"bytes"
	"context"
	"io/fs"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/cairn-backup/cairn/internal/digest"
	"github.com/cairn-backup/cairn/remote"
	"github.com/cairn-backup/cairn/remote/local"
)

// takeCounter is a local store that counts how packs arrive: by Put (a copy) or by
// TakeFile. It embeds the store itself, so it is a remote.FileTaker too.
type takeCounter struct {
	*local.Store
	puts, takes atomic.Int32
}

func (c *takeCounter) Put(ctx context.Context, h remote.Handle, body remote.Body) error {
	if h.Type == remote.Data {
		c.puts.Add(1)
	}
	return c.Store.Put(ctx, h, body)
}

func (c *takeCounter) TakeFile(ctx context.Context, h remote.Handle, f remote.TempFile, size int64) error {
	c.takes.Add(1)
	return c.Store.TakeFile(ctx, h, f, size)
}

// leftovers returns the `.tmp-` files under dir, relative to it.
func leftovers(t *testing.T, dir string) []string {
	t.Helper()
	var out []string
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err == nil && strings.HasPrefix(d.Name(), ".tmp-") {
			rel, _ := filepath.Rel(dir, p)
			out = append(out, filepath.ToSlash(rel))
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// On a local repository a pack is filled in the repository's data folder and taken by
// rename when finished: no pack is copied, nothing is written to the temporary
// folder of the options, and no temporary file is left. Every blob reads back.
func TestLocalPacksTakenByRename(t *testing.T) {
	ctx := context.Background()
	st, dir := newLocalStore(t)
	store := &takeCounter{Store: st}
	opts := testOptions(t, "pw")
	opts.TempDir, opts.PackSize = t.TempDir(), 1<<20
	r := initRepo(t, store, opts)
	w := r.NewWriter(ctx, WriterOptions{Uploads: 2})
	rng := rand.New(rand.NewPCG(1, 2))
	blobs := map[digest.ID][]byte{}
	for range 40 {
		b := make([]byte, 64<<10)
		for i := range b {
			b[i] = byte(rng.Uint32())
		}
		id, _, err := w.SaveBlob(ctx, DataBlob, b)
		if err != nil {
			t.Fatal(err)
		}
		blobs[id] = b
	}
	if got := leftovers(t, dir); len(got) == 0 || !strings.HasPrefix(got[0], "data/.tmp-") {
		t.Errorf("packs being filled: %q, want temporary files in data/", got)
	}
	if err := w.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	packs, _, err := r.ListPackInfos(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if n := int(store.takes.Load()); n != len(packs) || n < 2 || store.puts.Load() != 0 {
		t.Errorf("%d packs stored: %d taken, %d put; want every one taken", len(packs), n, store.puts.Load())
	}
	if got := leftovers(t, dir); len(got) != 0 {
		t.Errorf("temporary files after Flush: %q", got)
	}
	if names, _ := os.ReadDir(opts.TempDir); len(names) != 0 {
		t.Errorf("the options' temporary folder holds %d files, want none", len(names))
	}
	back, err := Open(ctx, st, opts)
	if err != nil {
		t.Fatal(err)
	}
	for id, want := range blobs {
		got, err := back.LoadBlob(ctx, DataBlob, id)
		if err != nil || !bytes.Equal(got, want) {
			t.Fatalf("blob %s: %d bytes, %v", id.Short(), len(got), err)
		}
	}
}

// A store that hides its FileTaker (a decorator embedding the Storage) gets its packs
// by Put, filled in the options' temporary folder, as before.
func TestHiddenTakerPuts(t *testing.T) {
	ctx := context.Background()
	st, dir := newLocalStore(t)
	counted := &takeCounter{Store: st}
	hidden := struct{ remote.Storage }{counted}
	opts := testOptions(t, "pw")
	opts.TempDir = t.TempDir()
	r := initRepo(t, hidden, opts)
	w := r.NewWriter(ctx, WriterOptions{})
	id, _, err := w.SaveBlob(ctx, DataBlob, []byte("one blob"))
	if err != nil {
		t.Fatal(err)
	}
	if names, _ := os.ReadDir(opts.TempDir); len(names) != 1 {
		t.Errorf("the options' temporary folder holds %d files, want the open pack", len(names))
	}
	if err := w.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	if counted.puts.Load() != 1 || counted.takes.Load() != 0 {
		t.Errorf("%d packs put, %d taken; want 1 put", counted.puts.Load(), counted.takes.Load())
	}
	if got, err := r.LoadBlob(ctx, DataBlob, id); err != nil || string(got) != "one blob" {
		t.Errorf("blob: %q, %v", got, err)
	}
	if got := leftovers(t, dir); len(got) != 0 {
		t.Errorf("temporary files after Flush: %q", got)
	}
}

// newLocalStore makes a local store, the store that takes files by rename, in a new
// folder. It returns the store and its folder.
func newLocalStore(t *testing.T) (*local.Store, string) {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "repo")
	st, err := local.Create(context.Background(), dir)
	if err != nil {
		t.Fatal(err)
	}
	return st, dir
}
