package pack

import (
	"bytes"
	"encoding/binary"
	"errors"
	"runtime"
	"testing"

	"github.com/cairn-backup/cairn/internal/crypto"
	"github.com/cairn-backup/cairn/internal/digest"
	"github.com/klauspost/compress/zstd"
)

// tamperPack is a small two-blob pack that the tamper tests damage copies of.
func tamperPack(t *testing.T) (*crypto.Key, []byte, []Entry) {
	t.Helper()
	key := mustKey(t)
	data, entries := buildPack(t, key, CompressDefault, []blob{
		{Data, textData(1, 5000)}, {Tree, []byte("a tree node")},
	})
	return key, data, entries
}

func flip(data []byte, i int) []byte {
	out := append([]byte(nil), data...)
	out[i] ^= 0x40
	return out
}

// wantErr checks that err wraps one of the sentinels and no other.
func wantErr(t *testing.T, what string, err error, want ...error) {
	t.Helper()
	for _, w := range want {
		if errors.Is(err, w) {
			return
		}
	}
	t.Errorf("%s: got %v, want one of %v", what, err, want)
}

func TestTamperPack(t *testing.T) {
	key, data, entries := tamperPack(t)
	hdrStart := int(entries[1].End())
	n := len(data)
	wantErr(t, "flipped header byte", parse(key, testRepo, flip(data, hdrStart+30)), crypto.ErrAuth)
	wantErr(t, "flipped header nonce", parse(key, testRepo, flip(data, hdrStart)), crypto.ErrAuth)
	for i := n - trailerSize; i < n; i++ {
		wantErr(t, "flipped trailer byte", parse(key, testRepo, flip(data, i)), ErrCorrupt, crypto.ErrAuth)
	}
	for _, cut := range []int{1, trailerSize, 100, n / 2, n - 1} {
		wantErr(t, "pack cut at the end", parse(key, testRepo, data[:n-cut]), ErrCorrupt, crypto.ErrAuth)
		wantErr(t, "pack cut at the start", parse(key, testRepo, data[cut:]), ErrCorrupt, crypto.ErrAuth)
	}
	wantErr(t, "bytes before the pack", parse(key, testRepo, append([]byte{0}, data...)), ErrCorrupt)
	wantErr(t, "bytes after the pack", parse(key, testRepo, append(data[:n:n], 0)), ErrCorrupt, crypto.ErrAuth)
	wantErr(t, "another key", parse(mustKey(t), testRepo, data), crypto.ErrAuth)
	wantErr(t, "another repository", parse(key, digest.Of([]byte("other")), data), crypto.ErrAuth)
}

func parse(key *crypto.Key, repo digest.ID, data []byte) error {
	_, err := ParsePack(key, repo, data)
	return err
}

func TestTamperBlob(t *testing.T) {
	key, data, entries := tamperPack(t)
	e := entries[0]
	sealed := data[e.Offset:e.End()]
	open := func(key *crypto.Key, repo digest.ID, e Entry, sealed []byte) error {
		_, err := OpenBlob(key, repo, e, sealed)
		return err
	}
	wantErr(t, "flipped blob byte", open(key, testRepo, e, flip(sealed, 100)), crypto.ErrAuth)
	wantErr(t, "another key", open(mustKey(t), testRepo, e, sealed), crypto.ErrAuth)
	wantErr(t, "another repository", open(key, digest.Of([]byte("x")), e, sealed), crypto.ErrAuth)
	wrongID, wrongType := e, e
	wrongID.ID = entries[1].ID
	wrongType.Type = Tree
	wantErr(t, "wrong id", open(key, testRepo, wrongID, sealed), crypto.ErrAuth)
	wantErr(t, "wrong type", open(key, testRepo, wrongType, sealed), crypto.ErrAuth)
	invalidType := e
	invalidType.Type = 9
	wantErr(t, "invalid type", open(key, testRepo, invalidType, sealed), ErrCorrupt)
	// Ranges that disagree with the entry: a length mismatch is caught before
	// decryption; a shifted range of the right length does not authenticate.
	wantErr(t, "range one byte long", open(key, testRepo, e, data[e.Offset:e.End()+1]), ErrCorrupt)
	wantErr(t, "range one byte short", open(key, testRepo, e, sealed[:len(sealed)-1]), ErrCorrupt)
	wantErr(t, "shifted range", open(key, testRepo, e, data[e.Offset+1:e.End()+1]), crypto.ErrAuth)
	short := e
	short.Length = 10
	wantErr(t, "entry shorter than an envelope", open(key, testRepo, short, sealed[:10]), ErrCorrupt)
	second := entries[1]
	wantErr(t, "other blob's bytes", open(key, testRepo, e, data[second.Offset:second.End()]), ErrCorrupt)
}

// sealBlob seals an arbitrary blob plaintext (mode ‖ payload) under e's associated
// data, as a writer with the key could, so the checks behind authentication run.
func sealBlob(key *crypto.Key, e *Entry, plain []byte) []byte {
	sealed := key.Seal(nil, plain, blobAD(testRepo, e.Type, e.ID))
	e.Length = uint32(len(sealed))
	return sealed
}

func TestCorruptInsideSeal(t *testing.T) {
	key := mustKey(t)
	bomb, _ := encoderFor(CompressFastest)
	zeros := make([]byte, MaxBlobSize+1)
	text := textData(2, 1000)
	cases := map[string][]byte{
		"no mode byte":      {},
		"unknown mode":      append([]byte{7}, text...),
		"garbage zstd":      append([]byte{modeZstd}, text...),
		"truncated zstd":    bomb.EncodeAll(text, []byte{modeZstd})[:50],
		"hash mismatch":     append([]byte{modeRaw}, "not the text"...),
		"zstd over the cap": bomb.EncodeAll(zeros, []byte{modeZstd}),
		"unsized zstd bomb": streamFrame(t, zeros),
		"bomb after frame":  append(bomb.EncodeAll(text, []byte{modeZstd}), streamFrame(t, zeros)[1:]...),
	}
	for name, plain := range cases {
		e := Entry{Type: Data, ID: digest.Of(text)}
		if name == "zstd over the cap" || name == "unsized zstd bomb" {
			e.ID = digest.Of(zeros)
		}
		sealed := sealBlob(key, &e, plain)
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		_, err := OpenBlob(key, testRepo, e, sealed)
		runtime.ReadMemStats(&after)
		wantErr(t, name, err, ErrCorrupt)
		// The bombs declare or decode to 16 MiB; refusing them must cost far less.
		if alloc := after.TotalAlloc - before.TotalAlloc; alloc > 1<<20 {
			t.Errorf("%s: allocated %d bytes", name, alloc)
		}
	}
}

// streamFrame returns mode ‖ a zstd frame that does not declare its content size, so
// only the decoder's running cap stops it.
func streamFrame(t *testing.T, data []byte) []byte {
	var b bytes.Buffer
	b.WriteByte(modeZstd)
	w, err := zstd.NewWriter(&b, zstd.WithEncoderConcurrency(1))
	if err != nil {
		t.Fatal(err)
	}
	_, err = w.Write(data)
	if err == nil {
		err = w.Close()
	}
	if err != nil {
		t.Fatal(err)
	}
	if h := (zstd.Header{}); h.Decode(b.Bytes()[1:]) != nil || h.HasFCS {
		t.Fatalf("stream frame declares its size: %+v", h)
	}
	return b.Bytes()
}

// sealHeader builds a pack from raw blob bytes and an arbitrary header plaintext.
func sealHeader(key *crypto.Key, blobs []byte, plain []byte) []byte {
	data := key.Seal(append([]byte(nil), blobs...), plain, headerAD(testRepo))
	return binary.LittleEndian.AppendUint32(data, uint32(len(data)-len(blobs)))
}

func TestCorruptHeaderInsideSeal(t *testing.T) {
	key := mustKey(t)
	id := digest.Of(nil)
	entry := func(typ byte, length uint64) []byte {
		return binary.AppendUvarint(append([]byte{typ}, id[:]...), length)
	}
	blobs := make([]byte, 50)
	cases := map[string][]byte{
		"empty":              {},
		"version 2":          {2, 0},
		"count truncated":    {1, 0x80},
		"count overlong":     {1, 0x80, 0x00},
		"count too large":    {1, 0x80, 0x80, 0x80, 0x01},
		"count over entries": append([]byte{1, 2}, entry(0, 50)...),
		"unknown type":       append([]byte{1, 1}, entry(2, 50)...),
		"length too short":   append(append([]byte{1, 2}, entry(0, 10)...), entry(0, 40)...),
		"length overruns":    append([]byte{1, 1}, entry(0, 51)...),
		"lengths fall short": append([]byte{1, 1}, entry(0, 49)...),
		"stray bytes":        append(append([]byte{1, 1}, entry(0, 50)...), 0),
	}
	for name, plain := range cases {
		wantErr(t, name, parse(key, testRepo, sealHeader(key, blobs, plain)), ErrCorrupt)
	}
	if err := parse(key, testRepo, sealHeader(key, blobs, append([]byte{1, 1}, entry(1, 50)...))); err != nil {
		t.Fatalf("control case: %v", err)
	}
}

func TestHostileHeaderLengths(t *testing.T) {
	key := mustKey(t)
	for _, hdrLen := range []uint32{0, minHeaderSize - 1, MaxHeaderSize + 1, 1<<32 - 1} {
		data := binary.LittleEndian.AppendUint32(make([]byte, 100), hdrLen)
		wantErr(t, "header length", parse(key, testRepo, data), ErrCorrupt)
	}
	for _, size := range []int64{-1, 0, 3, minHeaderSize + trailerSize - 1, MaxPackSize + 1} {
		_, _, err := ParseTail(key, testRepo, nil, size)
		wantErr(t, "pack size", err, ErrCorrupt)
	}
}
