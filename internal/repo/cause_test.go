package repo

import (
	"context"
	"errors"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/cairn-backup/cairn/remote"
	"github.com/cairn-backup/cairn/remote/remotetest"
)

// An upload that fails while indexing (the checkpoint segment cannot be written)
// cancels the other uploads; every later call of the session reports that failure,
// naming the object, not the cancellation it caused (RELIABILITY 14).
func TestWriterReportsFirstCause(t *testing.T) {
	ctx := context.Background()
	st := remotetest.NewFaulty(remotetest.NewMem())
	opts := testOptions(t, "pw")
	opts.PackSize = 1 << 20
	initRepo(t, st, opts)
	r, err := Open(ctx, st, opts)
	if err != nil {
		t.Fatal(err)
	}
	st.Add(remotetest.Fault{Op: remotetest.OpPut, Type: remote.Index, Nth: 1, Repeat: -1,
		Kind: remotetest.Fail, Err: remote.ErrFull})
	w := r.NewWriter(ctx, WriterOptions{Uploads: 3})
	rng := rand.NewChaCha8([32]byte{1})
	blob := make([]byte, 600<<10)
	for i := 0; err == nil && i < 4*checkpointPacks; i++ {
		_, _ = rng.Read(blob)
		_, _, err = w.SaveBlob(ctx, DataBlob, blob)
	}
	if err == nil {
		err = w.Flush(ctx)
	}
	st.Verify(t)
	if !errors.Is(err, remote.ErrFull) || errors.Is(err, context.Canceled) || !strings.Contains(err.Error(), "index/") {
		t.Fatalf("session whose index segment cannot be written: %v; want the storage-full error naming the segment", err)
	}
	_ = w.Abort(ctx)
}
