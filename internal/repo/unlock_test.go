package repo

import (
	"context"
	"errors"
	"testing"

	"github.com/cairn-backup/cairn/internal/crypto"
	"github.com/cairn-backup/cairn/remote"
	"github.com/cairn-backup/cairn/remote/remotetest"
)

// A client that has opened a repository before reads its pinned key file beside the
// config and lists no keys: on a distant bucket, one round trip instead of three.
func TestOpenPinnedKeyListsNoKeys(t *testing.T) {
	ctx := context.Background()
	st := remotetest.NewFaulty(remotetest.NewMem())
	opts := testOptions(t, "pw")
	r := initRepo(t, st, opts)
	if _, err := r.AddKey(ctx, []byte("other")); err != nil {
		t.Fatal(err)
	}
	if _, err := Open(ctx, st, opts); err != nil { // pins the key, as any open does
		t.Fatal(err)
	}
	lists := st.Calls(remotetest.OpList, remote.Key)
	back, err := Open(ctx, st, opts)
	if err != nil {
		t.Fatal(err)
	}
	if back.KeyName() != r.KeyName() || back.Fingerprint() != r.Fingerprint() {
		t.Fatal("reopened with another key")
	}
	if n := st.Calls(remotetest.OpList, remote.Key) - lists; n != 0 {
		t.Fatalf("open with a pinned key listed keys %d times, want 0", n)
	}
}

// The pinned key file gone (removed by another client), or not opened by the
// password, the keys are listed and tried as before.
func TestOpenPinnedKeyFallsBack(t *testing.T) {
	ctx := context.Background()
	st := remotetest.NewFaulty(remotetest.NewMem())
	opts := testOptions(t, "pw")
	r := initRepo(t, st, opts)
	second, err := r.AddKey(ctx, []byte("pw"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Open(ctx, st, opts); err != nil {
		t.Fatal(err)
	}
	wrong := opts
	wrong.Password = []byte("wrong")
	if _, err := Open(ctx, st, wrong); !errors.Is(err, crypto.ErrWrongPassword) {
		t.Fatalf("wrong password with a pin: err = %v, want ErrWrongPassword", err)
	}
	if err := st.Delete(ctx, remote.Handle{Type: remote.Key, Name: r.KeyName()}); err != nil {
		t.Fatal(err)
	}
	lists := st.Calls(remotetest.OpList, remote.Key)
	back, err := Open(ctx, st, opts)
	if err != nil {
		t.Fatalf("pinned key removed: %v", err)
	}
	if back.KeyName() != second || back.ID() != r.ID() {
		t.Fatalf("opened with key %s, want %s", back.KeyName(), second)
	}
	if n := st.Calls(remotetest.OpList, remote.Key) - lists; n != 1 {
		t.Fatalf("keys listed %d times, want 1", n)
	}
}
