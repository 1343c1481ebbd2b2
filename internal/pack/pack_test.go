package pack

import (
	"bytes"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"sync"
	"testing"

	"github.com/cairn-backup/cairn/internal/crypto"
	"github.com/cairn-backup/cairn/internal/digest"
)

var testRepo = digest.Of([]byte("test repository"))

func mustKey(t testing.TB) *crypto.Key {
	t.Helper()
	k, err := crypto.NewRandomKey(crypto.XAES256GCM)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// textData returns n bytes of word salad: compressible like source code or logs.
func textData(seed uint64, n int) []byte {
	words := []string{"backup ", "cairn ", "pack ", "the ", "of ", "snapshot\n", "func ", "return err\n", "{", "}\n", "0x1f ", "index "}
	r := rand.New(rand.NewPCG(seed, 1))
	var b bytes.Buffer
	for b.Len() < n {
		b.WriteString(words[r.IntN(len(words))])
		if r.IntN(8) == 0 {
			fmt.Fprintf(&b, "%d ", r.Uint32())
		}
	}
	return b.Bytes()[:n]
}

// randomData returns n incompressible bytes.
func randomData(seed uint64, n int) []byte {
	var s [32]byte
	s[0] = byte(seed)
	s[1] = byte(seed >> 8)
	b := make([]byte, n)
	_, _ = rand.NewChaCha8(s).Read(b)
	return b
}

type blob struct {
	t    BlobType
	data []byte
}

// buildPack writes blobs into one pack and checks the Writer's bookkeeping.
func buildPack(t testing.TB, key *crypto.Key, c Compression, blobs []blob) ([]byte, []Entry) {
	t.Helper()
	w := NewWriter(key, testRepo, c)
	for i, b := range blobs {
		e, err := w.Add(b.t, digest.Of(b.data), b.data)
		if err != nil {
			t.Fatalf("add blob %d: %v", i, err)
		}
		if w.Count() != i+1 || int64(w.Size()) != e.End() {
			t.Fatalf("after blob %d: Count %d, Size %d, entry ends at %d", i, w.Count(), w.Size(), e.End())
		}
	}
	data, id, entries, err := w.Finish()
	if err != nil {
		t.Fatal(err)
	}
	if id != digest.Of(data) || len(entries) != len(blobs) {
		t.Fatalf("Finish: id %s, %d entries for %d blobs", id.Short(), len(entries), len(blobs))
	}
	return data, entries
}

// readTail plays a remote reader: fetch TailSize, then refetch once if told to.
func readTail(t testing.TB, key *crypto.Key, data []byte) (entries []Entry, refetched bool) {
	t.Helper()
	size := int64(len(data))
	entries, need, err := ParseTail(key, testRepo, data[size-TailSize(size):], size)
	if err != nil {
		t.Fatal(err)
	}
	if need > 0 {
		refetched = true
		entries, need, err = ParseTail(key, testRepo, data[size-need:], size)
		if err != nil || need != 0 {
			t.Fatalf("second ParseTail: need %d, %v", need, err)
		}
	}
	return entries, refetched
}

// checkPack reads data back every way and compares with what was written.
func checkPack(t testing.TB, key *crypto.Key, data []byte, written []Entry, blobs []blob) {
	t.Helper()
	parsed, err := ParsePack(key, testRepo, data)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(parsed, written) {
		t.Fatal("ParsePack entries differ from the Writer's")
	}
	if tailed, _ := readTail(t, key, data); !slices.Equal(tailed, written) {
		t.Fatal("ParseTail entries differ from the Writer's")
	}
	for i, e := range parsed {
		got, err := OpenBlob(key, testRepo, e, data[e.Offset:e.End()])
		if err != nil {
			t.Fatalf("blob %d: %v", i, err)
		}
		if e.Type != blobs[i].t || !bytes.Equal(got, blobs[i].data) {
			t.Fatalf("blob %d (%d bytes) differs after round trip", i, len(blobs[i].data))
		}
	}
}

// payloadMode opens a blob with the key to see which mode the Writer chose.
func payloadMode(t testing.TB, key *crypto.Key, data []byte, e Entry) byte {
	t.Helper()
	plain, err := key.Open(nil, data[e.Offset:e.End()], blobAD(testRepo, e.Type, e.ID))
	if err != nil {
		t.Fatal(err)
	}
	return plain[0]
}

// Generated once and shared: under -race generating them dominates otherwise.
var (
	bigText   = sync.OnceValue(func() []byte { return textData(1, MaxBlobSize) })
	bigRandom = sync.OnceValue(func() []byte { return randomData(1, MaxBlobSize) })
)

var roundTripSizes = []int{0, 1, 2, 100, 4095, 4096, 65536, 1 << 20, 4<<20 + 3, MaxBlobSize}

func TestRoundTrip(t *testing.T) {
	key := mustKey(t)
	for c := range numCompressions {
		for _, kind := range []string{"text", "random"} {
			t.Run(c.String()+"/"+kind, func(t *testing.T) {
				t.Parallel()
				var blobs []blob
				src := bigText()
				if kind == "random" {
					src = bigRandom()
				}
				for i, n := range roundTripSizes {
					blobs = append(blobs, blob{t: BlobType(i % 2), data: src[:n]})
				}
				data, entries := buildPack(t, key, c, blobs)
				checkPack(t, key, data, entries, blobs)
				for i, e := range entries {
					n := len(blobs[i].data)
					if n > 2 && n < 4095 {
						continue // whether zstd pays depends on the level
					}
					wantZstd := c != CompressOff && kind == "text" && n >= 4095
					if got := payloadMode(t, key, data, e); (got == modeZstd) != wantZstd {
						t.Errorf("blob %d of %d bytes stored in mode %d", i, len(blobs[i].data), got)
					}
				}
			})
		}
	}
}

func TestManySmallBlobs(t *testing.T) {
	key := mustKey(t)
	var blobs []blob
	for i := range 2000 {
		blobs = append(blobs, blob{t: BlobType(i % 2), data: textData(uint64(i), i%300)})
	}
	data, entries := buildPack(t, key, CompressDefault, blobs)
	checkPack(t, key, data, entries, blobs)
	if _, refetched := readTail(t, key, data); !refetched {
		t.Fatalf("a %d-byte pack of 2000 blobs should need a second read", len(data))
	}
}

func TestParseTailShort(t *testing.T) {
	key := mustKey(t)
	data, entries := buildPack(t, key, CompressOff, []blob{{Data, []byte("a")}, {Tree, []byte("b")}})
	size := int64(len(data))
	hdrLen := size - 2*(minSealedBlobSize+1)
	for _, n := range []int64{0, 3, 4, 10, hdrLen - 1} {
		got, need, err := ParseTail(key, testRepo, data[size-n:], size)
		if err != nil || got != nil || need <= n || need > size {
			t.Fatalf("tail of %d: need %d, entries %v, %v", n, need, got, err)
		}
		got, need, err = ParseTail(key, testRepo, data[size-need:], size)
		if err != nil || need != 0 || !slices.Equal(got, entries) {
			t.Fatalf("refetch after tail of %d: need %d, %v", n, need, err)
		}
	}
}

func TestEmptyPack(t *testing.T) {
	key := mustKey(t)
	data, entries := buildPack(t, key, CompressDefault, nil)
	if len(data) != minHeaderSize+trailerSize {
		t.Fatalf("empty pack has %d bytes, want %d", len(data), minHeaderSize+trailerSize)
	}
	checkPack(t, key, data, entries, nil)
}

func TestWriterLimits(t *testing.T) {
	key := mustKey(t)
	w := NewWriter(key, testRepo, CompressOff)
	if _, err := w.Add(Data, digest.ID{}, make([]byte, MaxBlobSize+1)); err == nil || errors.Is(err, ErrFull) {
		t.Fatalf("oversized blob: %v", err)
	}
	if _, err := w.Add(BlobType(2), digest.ID{}, nil); err == nil {
		t.Fatal("invalid type accepted")
	}
	w.maxCount = 1
	if _, err := w.Add(Data, digest.Of(nil), nil); err != nil {
		t.Fatal(err)
	}
	if _, err := w.Add(Data, digest.Of(nil), nil); !errors.Is(err, ErrFull) {
		t.Fatalf("blob past maxCount: %v", err)
	}
	w.maxCount, w.maxSize = 10, w.finalSize(w.Size()+minSealedBlobSize+1, 2, 2*minEntrySize)
	if _, err := w.Add(Data, digest.Of([]byte("xy")), []byte("xy")); !errors.Is(err, ErrFull) || w.Count() != 1 {
		t.Fatalf("blob one byte past maxSize: %v, count %d", err, w.Count())
	}
	if _, err := w.Add(Data, digest.Of([]byte("x")), []byte("x")); err != nil {
		t.Fatalf("blob exactly at maxSize: %v", err)
	}
	data, _, _, err := w.Finish()
	if err != nil || len(data) != w.maxSize {
		t.Fatalf("pack of %d bytes, maxSize %d: %v", len(data), w.maxSize, err)
	}
	if _, err := w.Add(Data, digest.Of(nil), nil); err == nil {
		t.Fatal("Add after Finish accepted")
	}
	if _, _, _, err := w.Finish(); err == nil {
		t.Fatal("second Finish accepted")
	}
}

func TestDerivedLimits(t *testing.T) {
	if uvarintLen(MaxSealedBlobSize) != maxEntrySize-1-digest.Size {
		t.Errorf("MaxSealedBlobSize needs %d uvarint bytes", uvarintLen(MaxSealedBlobSize))
	}
	if uvarintLen(MaxBlobsPerPack) != maxCountSize {
		t.Errorf("MaxBlobsPerPack needs %d uvarint bytes", uvarintLen(MaxBlobsPerPack))
	}
	if MaxPackSize > 1<<32-1 || MaxHeaderSize > 1<<32-1 {
		t.Error("offsets, lengths and header_len must fit in uint32")
	}
}

func TestCompressionNames(t *testing.T) {
	for c := range numCompressions {
		got, err := ParseCompression(c.String())
		if err != nil || got != c {
			t.Errorf("ParseCompression(%q) = %v, %v", c.String(), got, err)
		}
	}
	for _, bad := range []string{"", "Default", "zstd", "best"} {
		if _, err := ParseCompression(bad); err == nil {
			t.Errorf("ParseCompression(%q) accepted", bad)
		}
	}
	if Data.String() != "data" || Tree.String() != "tree" || BlobType(7).Valid() {
		t.Error("BlobType names")
	}
}

// TestConcurrentWriters runs Writers and readers of every level at once: under -race it
// checks that the shared, lazily built encoders and decoder are safe.
func TestConcurrentWriters(t *testing.T) {
	key := mustKey(t)
	for i := range 8 {
		t.Run(fmt.Sprint(i), func(t *testing.T) {
			t.Parallel()
			blobs := []blob{{Data, textData(uint64(i), 70000)}, {Tree, textData(uint64(i), 500)}}
			data, entries := buildPack(t, key, Compression(i%int(numCompressions)), blobs)
			checkPack(t, key, data, entries, blobs)
		})
	}
}
