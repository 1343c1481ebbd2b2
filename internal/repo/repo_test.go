package repo

import (
	"bytes"
	"context"
	"errors"
	"math/rand/v2"
	"testing"

	"github.com/cairn-backup/cairn/internal/crypto"
	"github.com/cairn-backup/cairn/internal/pack"
	"github.com/cairn-backup/cairn/remote"
	"github.com/cairn-backup/cairn/remote/remotetest"
)

// fastKDF keeps tests quick; the production parameters are tested in package crypto.
var fastKDF = crypto.KDF{Algorithm: "argon2id", Time: 1, MemoryKiB: 8 << 10, Threads: 1}

func testOptions(t *testing.T, password string) Options {
	return Options{
		Password: []byte(password), KDF: &fastKDF,
		StateDir: t.TempDir(), CacheDir: t.TempDir(),
		Compression: pack.CompressFastest,
	}
}

func initRepo(t *testing.T, st remote.Storage, opts Options) *Repo {
	t.Helper()
	r, err := Init(context.Background(), st, opts)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func TestInitOpen(t *testing.T) {
	ctx := context.Background()
	st := remotetest.NewMem()
	opts := testOptions(t, "secret")
	r := initRepo(t, st, opts)
	back, err := Open(ctx, st, opts)
	if err != nil {
		t.Fatal(err)
	}
	if back.ID() != r.ID() || back.Fingerprint() != r.Fingerprint() || back.KeyName() != r.KeyName() {
		t.Fatal("reopened repository differs from the one created")
	}
	if _, err := back.Config().Pol(); err != nil {
		t.Fatal(err)
	}
	if _, err := Init(ctx, st, opts); err == nil {
		t.Fatal("init over an existing repository succeeded")
	}
}

func TestOpenErrors(t *testing.T) {
	ctx := context.Background()
	st := remotetest.NewMem()
	if _, err := Open(ctx, st, testOptions(t, "pw")); !errors.Is(err, ErrNoRepository) {
		t.Fatalf("empty store: err = %v, want ErrNoRepository", err)
	}
	initRepo(t, st, testOptions(t, "pw"))
	if _, err := Open(ctx, st, testOptions(t, "wrong")); !errors.Is(err, crypto.ErrWrongPassword) {
		t.Fatalf("wrong password: err = %v", err)
	}
}

// randomBlob returns n bytes, compressible (text-like) or not.
func randomBlob(rng *rand.Rand, n int, compressible bool) []byte {
	b := make([]byte, n)
	for i := range b {
		if compressible {
			b[i] = "cairn backs up files "[rng.IntN(21)]
		} else {
			b[i] = byte(rng.Uint32())
		}
	}
	return b
}

func TestBlobRoundTripAllSizes(t *testing.T) {
	ctx := context.Background()
	st := remotetest.NewMem()
	opts := testOptions(t, "pw")
	r := initRepo(t, st, opts)
	rng := rand.New(rand.NewPCG(1, 2))
	sizes := []int{0, 1, 2, 31, 4095, 4096, 65537, 1 << 20, 4<<20 + 3, pack.MaxBlobSize}
	var blobs [][]byte
	for _, n := range sizes {
		blobs = append(blobs, randomBlob(rng, n, true), randomBlob(rng, n, false))
	}
	type saved struct {
		t  pack.BlobType
		id [32]byte
	}
	var ids []saved
	for i, b := range blobs {
		typ := pack.Data
		if i%3 == 0 {
			typ = pack.Tree
		}
		id, added, err := session(r).SaveBlob(ctx, typ, b)
		if err != nil {
			t.Fatal(err)
		}
		if added == 0 {
			t.Fatalf("blob %d reported as known", i)
		}
		ids = append(ids, saved{typ, id})
	}
	if err := session(r).Flush(ctx); err != nil {
		t.Fatal(err)
	}
	back, err := Open(ctx, st, opts)
	if err != nil {
		t.Fatal(err)
	}
	for i, s := range ids {
		got, err := back.LoadBlob(ctx, s.t, s.id)
		if err != nil {
			t.Fatalf("blob %d (%d bytes): %v", i, len(blobs[i]), err)
		}
		if !bytes.Equal(got, blobs[i]) {
			t.Fatalf("blob %d (%d bytes) differs after the round trip", i, len(blobs[i]))
		}
	}
}

func TestSaveBlobDedups(t *testing.T) {
	ctx := context.Background()
	st := remotetest.NewFaulty(remotetest.NewMem())
	opts := testOptions(t, "pw")
	r := initRepo(t, st, opts)
	data := []byte("the same chunk")
	if _, added, err := session(r).SaveBlob(ctx, pack.Data, data); err != nil || added == 0 {
		t.Fatalf("first save: added=%v err=%v", added, err)
	}
	if _, added, _ := session(r).SaveBlob(ctx, pack.Data, data); added != 0 {
		t.Fatal("second save of the same blob in one session stored it again")
	}
	if err := session(r).Flush(ctx); err != nil {
		t.Fatal(err)
	}
	puts := st.Calls(remotetest.OpPut, remote.Data)
	back, err := Open(ctx, st, opts)
	if err != nil {
		t.Fatal(err)
	}
	if _, added, _ := session(back).SaveBlob(ctx, pack.Data, data); added != 0 {
		t.Fatal("a blob stored by an earlier session was stored again")
	}
	if _, added, _ := session(back).SaveBlob(ctx, pack.Tree, data); added == 0 {
		t.Fatal("the same bytes as a tree blob must be stored separately")
	}
	if err := session(back).Flush(ctx); err != nil {
		t.Fatal(err)
	}
	if got := st.Calls(remotetest.OpPut, remote.Data); got != puts+1 {
		t.Fatalf("data puts = %d, want %d (one new tree pack)", got, puts+1)
	}
}

func TestSnapshotsRoundTrip(t *testing.T) {
	ctx := context.Background()
	st := remotetest.NewMem()
	r := initRepo(t, st, testOptions(t, "pw"))
	recs := [][]byte{[]byte(`{"n":1}`), []byte(`{"n":2}`)}
	want := map[[32]byte][]byte{}
	for _, rec := range recs {
		id, err := r.SaveSnapshot(ctx, rec)
		if err != nil {
			t.Fatal(err)
		}
		want[id] = rec
	}
	ids, err := r.Snapshots(ctx)
	if err != nil || len(ids) != len(recs) {
		t.Fatalf("Snapshots = %v, %v", ids, err)
	}
	for _, id := range ids {
		got, err := r.LoadSnapshot(ctx, id)
		if err != nil || !bytes.Equal(got, want[id]) {
			t.Fatalf("LoadSnapshot(%s) = %q, %v", id.Short(), got, err)
		}
	}
}
