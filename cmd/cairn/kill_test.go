package main

import (
	"context"
	"encoding/json"
	"math/rand/v2"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/cairn-backup/cairn/internal/digest"
	"github.com/cairn-backup/cairn/internal/location"
	"github.com/cairn-backup/cairn/internal/repo"
	"github.com/cairn-backup/cairn/manifest"
	"github.com/cairn-backup/cairn/remote"
)

// TestKilledBackupsLeaveConsistentRepository kills backups with SIGKILL at seeded
// moments: no snapshot may ever refer to missing data, and the next complete backup
// reuses what the killed ones uploaded and indexed.
func TestKilledBackupsLeaveConsistentRepository(t *testing.T) {
	c := newCLI(t)
	c.ok("init", "--pack-size", "1")
	src := filepath.Join(t.TempDir(), "src")
	bigRandomFiles(t, src, 40, 1<<20, 11)
	rng := rand.New(rand.NewPCG(2026, 11))
	for i := 0; i < 4; i++ {
		cmd := c.cmd("backup", "--compression", "max", src)
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		time.Sleep(time.Duration(100+rng.IntN(900)) * time.Millisecond)
		_ = cmd.Process.Signal(syscall.SIGKILL)
		_ = cmd.Wait()
		checkConsistent(t, c)
	}
	before := indexedBlobs(t, c)
	if out := c.ok("snapshots"); !strings.Contains(out, "0 snapshots") {
		t.Logf("a run finished before its kill:\n%s", out)
	}
	var sum backupSummary
	if err := json.Unmarshal([]byte(c.ok("backup", "--json", "-q", src)), &sum); err != nil {
		t.Fatal(err)
	}
	checkConsistent(t, c)
	if before > 0 && sum.BytesAdded >= sum.BytesTotal {
		t.Fatalf("%d blobs were indexed by killed runs, yet the full backup added %d of %d bytes", before, sum.BytesAdded, sum.BytesTotal)
	}
	t.Logf("killed runs indexed %d blobs; the full backup added %d of %d bytes", before, sum.BytesAdded, sum.BytesTotal)
}

func openForTest(t *testing.T, c *cli) *repo.Repo {
	t.Helper()
	ctx := context.Background()
	st := c.store(t)
	r, err := repo.Open(ctx, st, repo.Options{Password: []byte("correct horse")})
	if err != nil {
		t.Fatal(err)
	}
	if err := r.LoadIndex(ctx); err != nil {
		t.Fatal(err)
	}
	return r
}

func indexedBlobs(t *testing.T, c *cli) int {
	r := openForTest(t, c)
	defer r.Close()
	return r.Stats().Blobs()
}

// checkConsistent walks every snapshot: each node, chunk list and chunk must be
// indexed, and each pack they are in must exist with its indexed size.
func checkConsistent(t *testing.T, c *cli) {
	t.Helper()
	ctx := context.Background()
	r := openForTest(t, c)
	defer r.Close()
	st := c.store(t)
	defer st.Close()
	snaps, bad, err := r.LoadSnapshots(ctx)
	if err != nil || len(bad) > 0 {
		t.Fatalf("load snapshots: %v %v", err, bad)
	}
	packOK := map[digest.ID]bool{}
	need := func(t *testing.T, typ repo.BlobType, id digest.ID) {
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
				need(t, repo.TreeBlob, e.Subtree)
			}
			if e.Type != manifest.File {
				return nil
			}
			chunks, err := manifest.ReadChunks(ctx, r, e)
			for _, ch := range chunks {
				need(t, repo.DataBlob, ch.ID)
			}
			return err
		})
		if err != nil {
			t.Fatalf("snapshot %s: %v", s.ID.Short(), err)
		}
	}
}

// store opens the test's repository storage directly (no retries, no proxy faults
// when the CLI's location points at a proxy: tests pass the direct location).
func (c *cli) store(t *testing.T) remote.Storage {
	t.Helper()
	loc := c.repo
	if c.direct != "" {
		loc = c.direct
	}
	for _, kv := range c.env {
		if k, v, ok := strings.Cut(kv, "="); ok && strings.HasPrefix(k, "AWS_") {
			t.Setenv(k, v)
		}
	}
	st, err := location.OpenStore(context.Background(), loc, location.StoreOptions{}, false)
	if err != nil {
		t.Fatal(err)
	}
	return st
}
