package clitest

import (
	"bytes"
	"context"
	"os"
	"strings"
	"testing"

	"github.com/cairn-backup/cairn/internal/digest"
	"github.com/cairn-backup/cairn/internal/location"
	"github.com/cairn-backup/cairn/internal/repo"
	"github.com/cairn-backup/cairn/manifest"
	"github.com/cairn-backup/cairn/remote"
)

// Store opens the user's repository storage directly (no retries, no proxy faults
// when the location points at a proxy: the direct location is used). Only an S3 user
// sets the process's AWS_ variables (so a parallel test may open a local one).
func (c *CLI) Store(t testing.TB) remote.Storage {
	t.Helper()
	loc := c.Repo
	if c.Direct != "" {
		loc = c.Direct
	}
	for _, kv := range c.Env {
		if k, v, ok := strings.Cut(kv, "="); ok && strings.HasPrefix(k, "AWS_") && c.Direct != "" {
			t.Setenv(k, v)
		}
	}
	st, err := location.OpenStore(context.Background(), loc, location.StoreOptions{}, false)
	if err != nil {
		t.Fatal(err)
	}
	return st
}

// Open opens the user's repository directly, with its index loaded.
func (c *CLI) Open(t testing.TB) *repo.Repo {
	t.Helper()
	ctx := context.Background()
	r, err := repo.Open(ctx, c.Store(t), repo.Options{Password: []byte(Password)})
	if err != nil {
		t.Fatal(err)
	}
	if err := r.LoadIndex(ctx); err != nil {
		t.Fatal(err)
	}
	return r
}

// IndexedBlobs counts the blobs the repository's index names.
func (c *CLI) IndexedBlobs(t testing.TB) int {
	r := c.Open(t)
	defer r.Close()
	st, err := r.Stats()
	if err != nil {
		t.Fatal(err)
	}
	return st.Blobs()
}

// CheckConsistent walks every snapshot: each node, chunk list and chunk must be
// indexed, and each pack they are in must exist with its indexed size.
func (c *CLI) CheckConsistent(t testing.TB) {
	t.Helper()
	ctx := context.Background()
	r := c.Open(t)
	defer r.Close()
	st := c.Store(t)
	defer st.Close()
	snaps, bad, err := r.LoadSnapshots(ctx)
	if err != nil || len(bad) > 0 {
		t.Fatalf("load snapshots: %v %v", err, bad)
	}
	packOK := map[digest.ID]bool{}
	need := func(typ repo.BlobType, id digest.ID) {
		loc, ok := r.Lookup(typ, id)
		if !ok {
			t.Fatalf("snapshot refers to blob %s that is not indexed", id.Short())
		}
		if !packOK[loc.Pack] {
			info, err := st.Stat(ctx, remote.Handle{Type: remote.Data, Name: loc.Pack.String()})
			size, _ := r.PackSize(loc.Pack)
			if err != nil || uint64(info.Size) != size {
				t.Fatalf("pack %s: %v (size %d, indexed %d)", loc.Pack.Short(), err, info.Size, size)
			}
			packOK[loc.Pack] = true
		}
	}
	for _, s := range snaps {
		err := manifest.Walk(ctx, r, s.Tree, s.Root, func(_ string, e *manifest.Entry) error {
			if e.Type == manifest.Dir {
				need(repo.TreeBlob, e.Subtree)
			}
			if e.Type != manifest.File {
				return nil
			}
			chunks, err := manifest.ReadChunks(ctx, r, e)
			for _, ch := range chunks {
				need(repo.DataBlob, ch.ID)
			}
			return err
		})
		if err != nil {
			t.Fatalf("snapshot %s: %v", s.ID.Short(), err)
		}
	}
}

// CheckContent compares every file under src of the latest snapshot with the source
// tree, reading the blobs from the repository directly.
func (c *CLI) CheckContent(t testing.TB, src string) {
	t.Helper()
	ctx := context.Background()
	r := c.Open(t)
	defer r.Close()
	snaps, _, err := r.LoadSnapshots(ctx)
	if err != nil || len(snaps) == 0 {
		t.Fatalf("snapshots: %v", err)
	}
	s := snaps[len(snaps)-1]
	files := 0
	err = manifest.Walk(ctx, r, s.Tree, s.Root, func(p string, e *manifest.Entry) error {
		if e.Type != manifest.File || !strings.HasPrefix("/"+p, src+"/") {
			return nil
		}
		chunks, err := manifest.ReadChunks(ctx, r, e)
		if err != nil {
			return err
		}
		var got bytes.Buffer
		for _, ch := range chunks {
			data, err := r.LoadBlob(ctx, repo.DataBlob, ch.ID)
			if err != nil {
				return err
			}
			got.Write(data)
		}
		want, err := os.ReadFile("/" + p)
		if err != nil || !bytes.Equal(got.Bytes(), want) {
			t.Errorf("%s differs from the source (%v)", p, err)
		}
		files++
		return nil
	})
	if err != nil || files == 0 {
		t.Fatalf("walk: %v, %d files", err, files)
	}
}
