package repo

import (
	"bytes"
	"context"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/cairn-backup/cairn/internal/digest"
	"github.com/cairn-backup/cairn/internal/pack"
	"github.com/cairn-backup/cairn/remote"
	"github.com/cairn-backup/cairn/remote/remotetest"
)

// saveRandom saves n random data blobs of size bytes and returns them by id.
func saveRandom(t *testing.T, r *Repo, rng *rand.Rand, n, size int) map[digest.ID][]byte {
	t.Helper()
	blobs := map[digest.ID][]byte{}
	for range n {
		b := randomBlob(rng, size, false)
		id, _, err := session(r).SaveBlob(context.Background(), pack.Data, b)
		if err != nil {
			t.Fatal(err)
		}
		blobs[id] = b
	}
	return blobs
}

// A store that acknowledges uploads it dropped or cut short (checked only in batches)
// must not cost a blob: the backup sends them again before any index names them.
func TestBatchConfirmSendsLostUploadsAgain(t *testing.T) {
	ctx := context.Background()
	st := remotetest.NewLax(remotetest.NewMem())
	opts := testOptions(t, "pw")
	opts.PackSize = 1 << 20
	r := initRepo(t, st, opts)
	st.Lie(remote.Data, false)
	st.Lie(remote.Data, true)
	st.Lie(remote.Index, false)
	st.Lie(remote.Index, true)
	blobs := saveRandom(t, r, rand.New(rand.NewPCG(3, 4)), 60, 256<<10) // ~15 packs
	if err := session(r).Flush(ctx); err != nil {
		t.Fatal(err)
	}
	if st.Told() != 4 {
		t.Fatalf("%d lies told, want 4", st.Told())
	}
	if c := st.Confirms(); c < 2 || c > 8 {
		t.Errorf("%d Confirm calls for ~15 packs, want a few batches", c)
	}
	back, err := Open(ctx, st, opts)
	if err != nil {
		t.Fatal(err)
	}
	for id, want := range blobs {
		got, err := back.LoadBlob(ctx, pack.Data, id)
		if err != nil || !bytes.Equal(got, want) {
			t.Fatalf("blob %s: %d bytes, %v", id.Short(), len(got), err)
		}
	}
}

// A pack the store never keeps fails the run, and no index names it.
func TestBatchConfirmGivesUp(t *testing.T) {
	ctx := context.Background()
	st := remotetest.NewLax(remotetest.NewMem())
	opts := testOptions(t, "pw")
	r := initRepo(t, st, opts)
	for range maxResends + 1 {
		st.Lie(remote.Data, false)
	}
	blobs := saveRandom(t, r, rand.New(rand.NewPCG(5, 6)), 1, 1000)
	err := session(r).Flush(ctx)
	if err == nil || !strings.Contains(err.Error(), "does not hold") {
		t.Fatalf("flush: %v, want a failure naming the lost upload", err)
	}
	if err := session(r).Abort(ctx); err != nil {
		t.Fatalf("salvage: %v", err)
	}
	back, err := Open(ctx, st, opts)
	if err != nil {
		t.Fatal(err)
	}
	for id := range blobs {
		if ok, err := session(back).Has(ctx, pack.Data, id); ok || err != nil {
			t.Fatalf("blob of the lost pack: indexed %v, %v", ok, err)
		}
	}
}
