package repo

import (
	"context"
	"errors"
	"io"
	"testing"

	"github.com/cairn-backup/cairn/remote"
	"github.com/cairn-backup/cairn/remote/remotetest"
)

// goneOnRead is a store whose snapshot record named gone is not found when read;
// with remove, it was removed just before (as forget does after a listing), else it
// stays listed (an object the storage lost).
type goneOnRead struct {
	remote.Storage
	gone   string
	remove bool
}

func (s *goneOnRead) Get(ctx context.Context, h remote.Handle, off, n int64) (io.ReadCloser, error) {
	if h.Type == remote.Snapshot && h.Name == s.gone {
		if s.remove {
			_ = s.Storage.Delete(ctx, h)
		}
		return nil, remote.ErrNotFound
	}
	return s.Storage.Get(ctx, h, off, n)
}

// A snapshot record removed between the listing and its read was forgotten meanwhile
// (by forget, or by a backup taking its snapshot back): LoadSnapshots leaves it out,
// so that `restore latest` beside a forget does not call it damage. One still listed
// and not found is reported.
func TestLoadSnapshotsLeavesOutRecordsRemovedMeanwhile(t *testing.T) {
	for _, remove := range []bool{true, false} {
		mem := remotetest.NewMem()
		opts := testOptions(t, "pw")
		r := initRepo(t, mem, opts)
		keep, err := r.SaveSnapshot(t.Context(), testRecord(t, "keep"))
		if err != nil {
			t.Fatal(err)
		}
		gone, err := r.SaveSnapshot(t.Context(), testRecord(t, "gone"))
		if err != nil {
			t.Fatal(err)
		}
		opts.CacheDir = t.TempDir() // nothing cached: every record is read
		r2, err := Open(t.Context(), &goneOnRead{Storage: mem, gone: gone.String(), remove: remove}, opts)
		if err != nil {
			t.Fatal(err)
		}
		snaps, bad, err := r2.LoadSnapshots(t.Context())
		if err != nil || len(snaps) != 1 || snaps[0].ID != keep {
			t.Fatalf("remove %v: %d snapshots (%v), want only %s", remove, len(snaps), err, keep.Short())
		}
		var se *SnapshotError
		switch {
		case remove && len(bad) != 0:
			t.Errorf("a record removed meanwhile is reported: %v", bad)
		case !remove && (len(bad) != 1 || !errors.As(bad[0], &se) || se.ID != gone):
			t.Errorf("a record listed and not found: %v, want it reported", bad)
		}
	}
}
