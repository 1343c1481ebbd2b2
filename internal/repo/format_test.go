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

// TestFormatsReadable: a repository of each format this build knows takes blobs and
// gives them back after a reopen, with the cipher its config names.
func TestFormatsReadable(t *testing.T) {
	for v := MinFormatVersion; v <= FormatVersion; v++ {
		ctx := context.Background()
		st := remotetest.NewMem()
		opts := testOptions(t, "pw")
		opts.Format = v
		r := initRepo(t, st, opts)
		rng := rand.New(rand.NewPCG(uint64(v), 9))
		blobs := [][]byte{randomBlob(rng, 100, true), randomBlob(rng, 3<<20, false), nil}
		var ids [][32]byte
		for _, b := range blobs {
			id, _, err := session(r).SaveBlob(ctx, pack.Data, b)
			if err != nil {
				t.Fatal(err)
			}
			ids = append(ids, id)
		}
		if err := session(r).Flush(ctx); err != nil {
			t.Fatal(err)
		}
		back, err := Open(ctx, st, opts)
		if err != nil {
			t.Fatalf("format %d: reopen: %v", v, err)
		}
		if back.Config().Version != v {
			t.Fatalf("format %d: config says %d", v, back.Config().Version)
		}
		for i, id := range ids {
			got, err := back.LoadBlob(ctx, pack.Data, id)
			if err != nil || !bytes.Equal(got, blobs[i]) {
				t.Fatalf("format %d: blob %d: %v", v, i, err)
			}
		}
	}
}

// TestConfigVersionByte: the clear-text version picks the cipher, so a flipped byte
// makes the config fail to open (it never silently selects the other cipher), and an
// unknown version is named as such.
func TestConfigVersionByte(t *testing.T) {
	ctx := context.Background()
	for _, c := range []struct {
		to   byte
		want error
	}{{1, crypto.ErrAuth}, {3, ErrVersion}, {0, ErrVersion}} {
		st := remotetest.NewMem()
		opts := testOptions(t, "pw")
		opts.StateDir = "" // no pin: the config itself must refuse
		initRepo(t, st, opts)
		h := remote.Handle{Type: remote.Config}
		data, err := remote.ReadAll(ctx, st, h, 0, 0, maxConfigSize)
		if err != nil {
			t.Fatal(err)
		}
		data[8] = c.to
		put(t, st, h, data)
		if _, err := Open(ctx, st, opts); !errors.Is(err, c.want) {
			t.Errorf("version byte %d: err = %v, want %v", c.to, err, c.want)
		}
	}
}
