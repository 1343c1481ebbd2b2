package pack

import (
	"bytes"
	"errors"
	"slices"
	"sync"
	"testing"

	"github.com/cairn-backup/cairn/internal/crypto"
	"github.com/cairn-backup/cairn/internal/digest"
)

// fuzzKey is fixed for the process, so seeds sealed under it stay meaningful while the
// fuzzer mutates them.
var fuzzKey = sync.OnceValue(func() *crypto.Key {
	k, err := crypto.NewRandomKey(crypto.XAES256GCM)
	if err != nil {
		panic(err)
	}
	return k
})

// seedPacks returns real packs of a few shapes.
func seedPacks(t testing.TB) [][]byte {
	key := fuzzKey()
	var packs [][]byte
	for _, blobs := range [][]blob{
		nil,
		{{Data, []byte("x")}},
		{{Data, textData(1, 3000)}, {Tree, nil}, {Tree, []byte("node")}},
	} {
		data, _ := buildPack(t, key, CompressDefault, blobs)
		packs = append(packs, data)
	}
	return packs
}

// isSentinel reports whether err is classified: corrupt, or not authentic.
func isSentinel(err error) bool {
	return errors.Is(err, ErrCorrupt) || errors.Is(err, crypto.ErrAuth)
}

func FuzzParsePack(f *testing.F) {
	for _, p := range seedPacks(f) {
		f.Add(p)
		f.Add(flip(p, len(p)-1))
		f.Add(p[1:])
		f.Add(p[:len(p)-1])
	}
	f.Add([]byte{})
	f.Add([]byte{42, 0, 0, 0})
	f.Fuzz(func(t *testing.T, data []byte) {
		key := fuzzKey()
		entries, err := ParsePack(key, testRepo, data)
		if err != nil {
			if !isSentinel(err) {
				t.Fatalf("unclassified error: %v", err)
			}
			return
		}
		tailed, _ := readTail(t, key, data)
		if !slices.Equal(tailed, entries) {
			t.Fatal("ParseTail and ParsePack disagree")
		}
		for _, e := range entries {
			if e.End() > int64(len(data)) {
				t.Fatalf("entry %+v past the %d-byte pack", e, len(data))
			}
			if _, err := OpenBlob(key, testRepo, e, data[e.Offset:e.End()]); err != nil && !isSentinel(err) {
				t.Fatalf("unclassified error: %v", err)
			}
		}
	})
}

func FuzzOpenBlob(f *testing.F) {
	text := textData(3, 2000)
	zstdText, _ := appendPayload(nil, text, CompressMax)
	bomb, _ := appendPayload(nil, make([]byte, 1<<20), CompressFastest)
	for _, plain := range [][]byte{{}, {modeRaw}, append([]byte{modeRaw}, text...), zstdText, bomb, {modeZstd}, {9}} {
		f.Add(plain, byte(Data), false)
		f.Add(plain, byte(Tree), true)
	}
	f.Add(seedPacks(f)[1][:minSealedBlobSize+1], byte(Data), true)
	f.Fuzz(func(t *testing.T, plain []byte, typ byte, sealedAsIs bool) {
		// Sealing the fuzzer's bytes lets it reach the payload decoder; sealedAsIs
		// instead presents them as ciphertext, which must fail authentication.
		key := fuzzKey()
		e := Entry{Type: BlobType(typ % 3), ID: digest.Of(plain[min(1, len(plain)):])}
		sealed := plain
		if !sealedAsIs && e.Type.Valid() {
			sealed = key.Seal(nil, plain, blobAD(testRepo, e.Type, e.ID))
		}
		e.Length = uint32(len(sealed))
		out, err := OpenBlob(key, testRepo, e, sealed)
		sameOpen(t, key, e, sealed, out, err)
		switch {
		case err != nil && !isSentinel(err):
			t.Fatalf("unclassified error: %v", err)
		case err == nil && (digest.Of(out) != e.ID || len(out) > MaxBlobSize):
			t.Fatalf("opened %d bytes that do not match the entry", len(out))
		case err == nil && sealedAsIs:
			t.Fatal("unsealed bytes opened")
		}
	})
}

func FuzzDecodeHeader(f *testing.F) {
	for _, p := range seedPacks(f) {
		n := len(p)
		hdrLen := int(uint32(p[n-4]) | uint32(p[n-3])<<8 | uint32(p[n-2])<<16 | uint32(p[n-1])<<24)
		plain, err := fuzzKey().Open(nil, p[n-4-hdrLen:n-4], headerAD(testRepo))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(plain, int64(n))
		f.Add(plain, int64(n+1))
	}
	f.Add([]byte{1, 0}, int64(minHeaderSize+trailerSize))
	f.Add([]byte{1, 0x80, 0x80, 0x40}, int64(MaxPackSize))
	f.Fuzz(func(t *testing.T, plain []byte, packSize int64) {
		entries, err := decodeHeader(plain, packSize)
		if err != nil {
			if !errors.Is(err, ErrCorrupt) {
				t.Fatalf("unclassified error: %v", err)
			}
			return
		}
		// What decodes is canonical: it re-encodes to the same bytes, and its blobs
		// tile the pack up to the sealed header exactly.
		if enc := encodeHeader(entries, 0); !bytes.Equal(enc, plain) {
			t.Fatalf("re-encoded header differs:\n%x\n%x", enc, plain)
		}
		var end int64
		for _, e := range entries {
			if int64(e.Offset) != end || !e.Type.Valid() || e.Length < minSealedBlobSize {
				t.Fatalf("bad entry %+v at %d", e, end)
			}
			end = e.End()
		}
		if end+int64(len(plain))+crypto.Overhead+trailerSize != packSize {
			t.Fatalf("blobs end at %d in a %d-byte pack", end, packSize)
		}
	})
}

// sameOpen checks that OpenBlobInPlace and an Opener agree with OpenBlob (out, err) on
// sealed, which is left as it was.
func sameOpen(t *testing.T, key *crypto.Key, e Entry, sealed, out []byte, err error) {
	t.Helper()
	inPlace := slices.Clone(sealed)
	var op Opener
	for name, open := range map[string]func() ([]byte, error){
		"in place": func() ([]byte, error) { return OpenBlobInPlace(key, testRepo, e, inPlace, nil) },
		"opener":   func() ([]byte, error) { return op.Open(key, testRepo, e, sealed) },
	} {
		got, gerr := open()
		if (gerr == nil) != (err == nil) || !bytes.Equal(got, out) {
			t.Fatalf("%s: %d bytes, %v; OpenBlob: %d bytes, %v", name, len(got), gerr, len(out), err)
		}
	}
}
