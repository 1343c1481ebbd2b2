package repo

import (
	"context"
	"testing"

	"github.com/cairn-backup/cairn/internal/pack"
	"github.com/cairn-backup/cairn/remote/remotetest"
)

// A session stopped by its context: Keep uploads and indexes the open packs, so a new
// session finds their blobs stored; Abort drops them.
func TestKeepSavesOpenPacksAbortDropsThem(t *testing.T) {
	for _, keep := range []bool{true, false} {
		st := remotetest.NewFaulty(remotetest.NewMem())
		opts := testOptions(t, "pw")
		r := initRepo(t, st, opts)
		ctx, cancel := context.WithCancel(context.Background())
		w := r.NewWriter(ctx, WriterOptions{})
		blob := []byte("a chunk in a pack that never filled")
		if _, _, err := w.SaveBlob(ctx, pack.Data, blob); err != nil {
			t.Fatal(err)
		}
		cancel() // the interrupt
		var err error
		if keep {
			err = w.Keep(context.Background())
		} else {
			err = w.Abort(context.Background())
		}
		if err != nil {
			t.Fatalf("keep=%v: %v", keep, err)
		}
		back, err := Open(context.Background(), st, opts)
		if err != nil {
			t.Fatal(err)
		}
		_, added, err := back.NewWriter(context.Background(), WriterOptions{}).SaveBlob(context.Background(), pack.Data, blob)
		if err != nil {
			t.Fatal(err)
		}
		if stored := added == 0; stored != keep {
			t.Errorf("keep=%v: the blob was found stored: %v", keep, stored)
		}
	}
}
