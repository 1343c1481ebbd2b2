package manifest

import (
	"bytes"
	"errors"
	"testing"

	"github.com/cairn-backup/cairn/internal/digest"
)

func FuzzDecodeNode(f *testing.F) {
	valid, _ := (&Node{Entries: sampleEntries()}).Encode()
	pieces, _ := (&Node{Pieces: []digest.ID{idOf("a"), idOf("b")}}).Encode()
	f.Add(valid)
	f.Add(pieces)
	f.Add(EncodeUnchecked([]Entry{fileEntry("..", 3), fileEntry("a/b", 1)}))
	f.Add(EncodeUnchecked(nil))
	f.Add(rawNode(rawFIFO(-1, nil), zeroSide))
	f.Fuzz(func(t *testing.T, b []byte) {
		checkCanonicalNode(t, b)
		// What decodes has a Merkle root, and the leaves agree with HashedEncoding.
		if n, err := DecodeNode(b); err == nil && len(n.Entries) > 0 {
			if _, leaves, err := decodeNode(b, true); err != nil || leaves[0] != n.Entries[0].LeafHash() {
				t.Fatalf("leaf hash differs from the entry's: %v", err)
			}
		}
	})
}

func FuzzDecodeChunkList(f *testing.F) {
	f.Add(encodeChunkList(testChunks(3, "")))
	f.Add(encodeChunkList([]Chunk{{Size: 1<<32 - 1}}))
	f.Add([]byte("CRNL\x01\x00"))
	f.Fuzz(func(t *testing.T, b []byte) {
		cs, err := DecodeChunkList(b)
		if err != nil {
			if !errors.Is(err, ErrCorrupt) {
				t.Fatalf("error %v does not wrap ErrCorrupt", err)
			}
			return
		}
		if again := encodeChunkList(cs); !bytes.Equal(again, b) {
			t.Fatalf("not canonical:\n in %x\nout %x", b, again)
		}
	})
}

func FuzzDecodeSnapshot(f *testing.F) {
	good, _ := sampleSnapshot().Encode()
	empty, _ := (&Snapshot{Version: 1}).Encode()
	f.Add(good)
	f.Add(empty)
	f.Add([]byte(`{"version":1}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		s, err := DecodeSnapshot(b)
		if err != nil {
			if !errors.Is(err, ErrCorrupt) {
				t.Fatalf("error %v does not wrap ErrCorrupt", err)
			}
			return
		}
		if again, err := s.Encode(); err != nil || !bytes.Equal(again, b) {
			t.Fatalf("not canonical (%v):\n in %q\nout %q", err, b, again)
		}
	})
}

func FuzzDecodeHashed(f *testing.F) {
	for _, e := range sampleEntries() {
		f.Add(e.HashedEncoding())
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		e, err := DecodeHashed(b)
		if err != nil {
			if !errors.Is(err, ErrCorrupt) {
				t.Fatalf("error %v does not wrap ErrCorrupt", err)
			}
			return
		}
		if again := e.HashedEncoding(); !bytes.Equal(again, b) {
			t.Fatalf("not canonical:\n in %x\nout %x", b, again)
		}
	})
}
