package manifest

import (
	"bytes"
	"encoding/binary"
	"errors"
	"strings"
	"testing"
)

func uv(v uint64) []byte { return binary.AppendUvarint(nil, v) }

func cat(parts ...[]byte) []byte { return bytes.Join(parts, nil) }

// rawFIFO returns the hashed fields of a FIFO entry named "f", with field i replaced
// by the given bytes when i ≥ 0, so tests can write what the encoder never would.
func rawFIFO(i int, field []byte) []byte {
	fs := [][]byte{{entryVersion}, {byte(FIFO)}, cat(uv(1), []byte("f")),
		uv(0o644), uv(0), uv(0), uv(0), uv(0), uv(1), uv(0), uv(0), uv(0), make([]byte, 32)}
	if i >= 0 {
		fs[i] = field
	}
	return cat(fs...)
}

var zeroSide = []byte{0, 0, 0, 0} // ctime, inode, dev, flags

// rawNode returns an entries node holding one entry.
func rawNode(hashed, side []byte) []byte {
	return cat([]byte(nodeMagic), []byte{formatVersion, kindEntries}, uv(1), uv(uint64(len(hashed))), hashed, side)
}

// unrepresentable names the bad entries whose fault the encoding has no room for: the
// side data of a file has no subtree, that of a directory no chunk fields.
var unrepresentable = map[string]bool{"lists on a dir": true, "subtree on a file": true, "chunks on a socket": true}

func TestDecodeNodeRejects(t *testing.T) {
	header := []byte("CRND\x01\x00")
	cases := map[string][]byte{
		"empty":                   nil,
		"magic only":              []byte("CRND"),
		"no kind":                 []byte("CRND\x01"),
		"no count":                header,
		"bad magic":               []byte("CRNX\x01\x00\x00"),
		"chunk list magic":        []byte("CRNL\x01\x00\x00"),
		"version 0":               []byte("CRND\x00\x00\x00"),
		"version 2":               []byte("CRND\x02\x00\x00"),
		"kind 2":                  []byte("CRND\x01\x02\x00"),
		"trailing byte":           []byte("CRND\x01\x00\x00\x00"),
		"count not shortest":      cat(header, []byte{0x80, 0x00}),
		"count overflows":         cat(header, bytes.Repeat([]byte{0xff}, 10), []byte{1}),
		"count too large":         cat(header, uv(1<<40)),
		"count above the bytes":   cat(header, uv(2), rawNode(rawFIFO(-1, nil), zeroSide)[7:]),
		"too large":               cat(header, make([]byte, MaxNodeSize)),
		"pieces 0":                []byte("CRND\x01\x01\x00"),
		"pieces 1":                cat([]byte("CRND\x01\x01\x01"), make([]byte, 32)),
		"pieces truncated":        cat([]byte("CRND\x01\x01\x02"), make([]byte, 63)),
		"pieces trailing":         cat([]byte("CRND\x01\x01\x02"), make([]byte, 65)),
		"entry version 0":         rawNode(rawFIFO(0, []byte{0}), zeroSide),
		"entry version 2":         rawNode(rawFIFO(0, []byte{2}), zeroSide),
		"type 0":                  rawNode(rawFIFO(1, []byte{0}), zeroSide),
		"type 8":                  rawNode(rawFIFO(1, []byte{8}), zeroSide),
		"name past hashed":        rawNode(rawFIFO(2, cat(uv(200), []byte("f"))), zeroSide),
		"name too long":           rawNode(rawFIFO(2, cat(uv(MaxNameLen+1), make([]byte, MaxNameLen+1))), zeroSide),
		"mode not shortest":       rawNode(rawFIFO(3, []byte{0x80, 0x00}), zeroSide),
		"mode above 07777":        rawNode(rawFIFO(3, uv(0o10000)), zeroSide),
		"uid above 32 bits":       rawNode(rawFIFO(4, uv(1<<32)), zeroSide),
		"mtime not shortest":      rawNode(rawFIFO(7, []byte{0x81, 0x00}), zeroSide),
		"nlink overflows":         rawNode(rawFIFO(8, bytes.Repeat([]byte{0xff}, 11)), zeroSide),
		"target too long":         rawNode(rawFIFO(10, cat(uv(MaxTargetLen+1), make([]byte, MaxTargetLen+1))), zeroSide),
		"xattr count above bytes": rawNode(rawFIFO(11, uv(20)), zeroSide),
		"too many xattrs":         rawNode(rawFIFO(11, cat(uv(MaxXattrs+1), make([]byte, 2*MaxXattrs+2))), zeroSide),
		"xattr value too long":    rawNode(rawFIFO(11, cat(uv(1), uv(1), []byte("a"), uv(MaxXattrValue+1), make([]byte, MaxXattrValue+1))), zeroSide),
		"content truncated":       rawNode(rawFIFO(12, make([]byte, 31)), zeroSide),
		"hashed extra byte":       rawNode(append(rawFIFO(-1, nil), 0), zeroSide),
		"side truncated":          rawNode(rawFIFO(-1, nil), zeroSide[:3]),
		"flags 2":                 rawNode(rawFIFO(-1, nil), []byte{0, 0, 0, 2}),
		"flags 0x80":              rawNode(rawFIFO(-1, nil), []byte{0, 0, 0, 0x80}),
		"ctime not shortest":      rawNode(rawFIFO(-1, nil), []byte{0x80, 0, 0, 0, 0}),
		"side trailing":           rawNode(rawFIFO(-1, nil), []byte{0, 0, 0, 0, 0}),
		"hashed length too long":  cat(header, uv(1), uv(MaxEntrySize+1), make([]byte, 64)),
	}
	if _, err := DecodeNode(rawNode(rawFIFO(-1, nil), zeroSide)); err != nil {
		t.Fatalf("the unaltered raw node: %v", err)
	}
	for name, breakIt := range badEntries {
		if unrepresentable[name] {
			continue
		}
		es := sampleEntries()
		breakIt(es)
		cases["entry: "+name] = EncodeUnchecked(es)
	}
	for name, b := range cases {
		if _, err := DecodeNode(b); !errors.Is(err, ErrCorrupt) {
			t.Errorf("%s: got %v, want ErrCorrupt", name, err)
		} else if testing.Verbose() {
			t.Logf("%s: %v", name, err)
		} else if !strings.Contains(err.Error(), "at byte") {
			t.Errorf("%s: error %q does not say where", name, err)
		}
	}
}

func TestDecodeNodeRejectsEveryPrefix(t *testing.T) {
	b, err := (&Node{Entries: sampleEntries()}).Encode()
	if err != nil {
		t.Fatal(err)
	}
	for i := range b {
		if _, err := DecodeNode(b[:i]); !errors.Is(err, ErrCorrupt) {
			t.Fatalf("prefix of %d bytes: %v", i, err)
		}
	}
}

// TestDecodeNodeFlips flips every bit of a node: each result fails or is canonical.
func TestDecodeNodeFlips(t *testing.T) {
	b, err := (&Node{Entries: sampleEntries()}).Encode()
	if err != nil {
		t.Fatal(err)
	}
	for i := range b {
		for bit := range 8 {
			alt := bytes.Clone(b)
			alt[i] ^= 1 << bit
			checkCanonicalNode(t, alt)
		}
	}
}

func TestDecodeChunkList(t *testing.T) {
	chunks := []Chunk{{ID: idOf("a"), Size: 1}, {ID: idOf("b"), Size: 1<<32 - 1}}
	b := encodeChunkList(chunks)
	got, err := DecodeChunkList(b)
	if err != nil || len(got) != 2 || got[0] != chunks[0] || got[1] != chunks[1] {
		t.Fatalf("round trip: %v, %v", got, err)
	}
	full := make([]Chunk, MaxListChunks)
	for i := range full {
		full[i].Size = 1
	}
	if _, err := DecodeChunkList(encodeChunkList(full)); err != nil {
		t.Fatalf("%d chunks: %v", MaxListChunks, err)
	}
	for name, b := range map[string][]byte{
		"empty":           nil,
		"no chunks":       []byte("CRNL\x01\x00"),
		"bad magic":       []byte("CRND\x01\x01" + string(make([]byte, 33))),
		"version 2":       []byte("CRNL\x02\x01" + string(make([]byte, 32)) + "\x01"),
		"empty chunk":     []byte("CRNL\x01\x01" + string(make([]byte, 32)) + "\x00"),
		"size too large":  cat([]byte("CRNL\x01\x01"), make([]byte, 32), uv(1<<32)),
		"size not short":  cat([]byte("CRNL\x01\x01"), make([]byte, 32), []byte{0x81, 0}),
		"trailing":        append(bytes.Clone(b), 0),
		"truncated":       b[:len(b)-1],
		"too many chunks": encodeChunkList(append(full, Chunk{Size: 1})),
		"count too large": cat([]byte("CRNL\x01"), uv(1<<50)),
	} {
		if _, err := DecodeChunkList(b); !errors.Is(err, ErrCorrupt) {
			t.Errorf("%s: %v, want ErrCorrupt", name, err)
		}
	}
}

// checkCanonicalNode decodes b; if it decodes, it must re-encode to b exactly.
func checkCanonicalNode(t testing.TB, b []byte) {
	n, err := DecodeNode(b)
	if err != nil {
		if !errors.Is(err, ErrCorrupt) {
			t.Fatalf("error %v does not wrap ErrCorrupt", err)
		}
		return
	}
	var again []byte
	if len(n.Pieces) > 0 {
		again, err = encodePieces(n.Pieces, 0)
	} else {
		again = EncodeUnchecked(n.Entries)
		if allValidNames(n.Entries) {
			var checked []byte
			checked, err = n.Encode()
			if err == nil && !bytes.Equal(checked, again) {
				t.Fatalf("Encode and EncodeUnchecked differ on %x", b)
			}
		}
	}
	if err != nil {
		t.Fatalf("decoded %x but cannot re-encode: %v", b, err)
	}
	if !bytes.Equal(again, b) {
		t.Fatalf("not canonical:\n in %x\nout %x", b, again)
	}
}

func allValidNames(es []Entry) bool {
	for _, e := range es {
		if !ValidName(e.Name) {
			return false
		}
	}
	return true
}
