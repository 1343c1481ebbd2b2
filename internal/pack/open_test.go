package pack

import (
	"bytes"
	"errors"
	"slices"
	"testing"

	"github.com/cairn-backup/cairn/internal/crypto"
	"github.com/cairn-backup/cairn/internal/digest"
)

// TestOpenInPlace opens blobs of both payload modes in their own buffers, with and
// without a decode buffer from the caller, and with one Opener reused across sizes.
func TestOpenInPlace(t *testing.T) {
	key := mustKey(t)
	blobs := []blob{
		{Data, textData(1, 300)},
		{Data, bigRandom()[:200<<10]},
		{Data, textData(2, 3<<20)},
		{Tree, []byte("node")},
		{Data, textData(3, 40)},
	}
	data, entries := buildPack(t, key, CompressDefault, blobs)
	var op Opener
	for i, e := range entries {
		want := blobs[i].data
		sealed := data[e.Offset:e.End()]
		got, err := op.Open(key, testRepo, e, sealed)
		if err != nil || !bytes.Equal(got, want) {
			t.Fatalf("opener, blob %d: %d bytes, %v", i, len(got), err)
		}
		var given []byte
		alloc := func(n int) []byte { given = make([]byte, n); return given }
		buf := slices.Clone(sealed)
		got, err = OpenBlobInPlace(key, testRepo, e, buf, alloc)
		if err != nil || !bytes.Equal(got, want) {
			t.Fatalf("in place, blob %d: %d bytes, %v", i, len(got), err)
		}
		if len(got) > 0 && !within(got, buf) && !within(got, given) {
			t.Fatalf("blob %d: the result is in neither the sealed nor the given buffer", i)
		}
		if !bytes.Equal(data[e.Offset:e.End()], sealed) {
			t.Fatalf("blob %d: the opener changed the sealed bytes", i)
		}
	}
}

// within reports whether b lies inside buf's storage.
func within(b, buf []byte) bool {
	if cap(b) == 0 || cap(b) > cap(buf) {
		return false
	}
	full := buf[:cap(buf)]
	return &b[0] == &full[len(full)-cap(b)] // b's storage ends where buf's does
}

// TestOpenInPlaceDamaged: a flipped byte fails authentication in place as in a copy,
// and a wrong id fails as corrupt.
func TestOpenInPlaceDamaged(t *testing.T) {
	key := mustKey(t)
	data, entries := buildPack(t, key, CompressDefault, []blob{{Data, textData(4, 5000)}})
	e := entries[0]
	buf := slices.Clone(data[e.Offset:e.End()])
	buf[len(buf)/2] ^= 1
	if _, err := OpenBlobInPlace(key, testRepo, e, buf, nil); !errors.Is(err, crypto.ErrAuth) {
		t.Fatalf("flipped byte: %v, want ErrAuth", err)
	}
	wrong := e
	wrong.ID = digest.Of([]byte("other"))
	buf = slices.Clone(data[e.Offset:e.End()])
	var op Opener
	if _, err := op.Open(key, testRepo, wrong, buf); !errors.Is(err, crypto.ErrAuth) {
		t.Fatalf("wrong id: %v, want ErrAuth (the id is bound as associated data)", err)
	}
}
