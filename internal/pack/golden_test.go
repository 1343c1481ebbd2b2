package pack

import (
	"bytes"
	"slices"
	"testing"

	"github.com/cairn-backup/cairn/internal/crypto"
	"github.com/cairn-backup/cairn/internal/digest"
	"github.com/cairn-backup/cairn/internal/golden"
)

// The golden files freeze the pack format of doc.go: a pack of a data blob, a tree
// blob and an empty blob, raw and compressed, sealed under the master key the fixed
// random source of package golden draws first (which also gives every nonce).
// go test ./internal/pack -run Golden -update rewrites them; a new zstd release may
// compress differently, which breaks only the encoding half, never the decoding one.

func goldenBlobs() []blob {
	return []blob{
		{Data, textData(1, 300)},
		{Tree, textData(2, 200)},
		{Data, nil},
	}
}

// goldenPack writes the golden blobs with a fresh stream of the fixed random source;
// stream picks the Writer that writes to an io.Writer.
func goldenPack(t *testing.T, c crypto.Cipher, comp Compression, stream bool) (*crypto.Key, []byte, []Entry) {
	t.Helper()
	golden.Random(t)
	key, err := crypto.NewRandomKey(c)
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	w := NewWriter(key, testRepo, comp)
	if stream {
		w = NewStreamWriter(key, testRepo, comp, &out)
	}
	for _, b := range goldenBlobs() {
		if _, err := w.Add(b.t, digest.Of(b.data), b.data); err != nil {
			t.Fatal(err)
		}
	}
	data, id, entries, err := w.Finish()
	if err != nil {
		t.Fatal(err)
	}
	if stream {
		data = out.Bytes()
	}
	if id != digest.Of(data) {
		t.Fatalf("pack id %s is not the SHA-256 of its bytes", id.Short())
	}
	return key, data, entries
}

func TestGoldenPack(t *testing.T) {
	for _, c := range []struct {
		file   string
		cipher crypto.Cipher
		comp   Compression
		mode   byte // of the two blobs with content
	}{
		{"pack-raw-xaes256gcm.hex", crypto.XAES256GCM, CompressOff, modeRaw},
		{"pack-zstd-xaes256gcm.hex", crypto.XAES256GCM, CompressDefault, modeZstd},
		{"pack-raw-xchacha20poly1305.hex", crypto.XChaCha20Poly1305, CompressOff, modeRaw},
	} {
		key, data, entries := goldenPack(t, c.cipher, c.comp, false)
		golden.Check(t, c.file, golden.Hex(data))
		if _, streamed, _ := goldenPack(t, c.cipher, c.comp, true); !bytes.Equal(streamed, data) {
			t.Errorf("%s: the stream Writer writes other bytes than the in-memory one", c.file)
		}

		file := golden.ReadHex(t, c.file)
		parsed, err := ParsePack(key, testRepo, file)
		if err != nil {
			t.Fatalf("%s: %v", c.file, err)
		}
		if !slices.Equal(parsed, entries) {
			t.Fatalf("%s: entries %v, want %v", c.file, parsed, entries)
		}
		for i, b := range goldenBlobs() {
			e := parsed[i]
			got, err := OpenBlob(key, testRepo, e, file[e.Offset:e.End()])
			if err != nil || e.Type != b.t || !bytes.Equal(got, b.data) {
				t.Errorf("%s blob %d: type %s, %d bytes, %v", c.file, i, e.Type, len(got), err)
			}
			if want := c.mode; len(b.data) > 0 && payloadMode(t, key, file, e) != want {
				t.Errorf("%s blob %d: not in mode %d", c.file, i, want)
			}
		}
	}
}
