package manifest

import (
	"bytes"
	"fmt"
	"io"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/cairn-backup/cairn/internal/digest"
	"github.com/cairn-backup/cairn/internal/golden"
)

// The golden files freeze the encodings of nodes, chunk lists, snapshot records and
// proofs: each test encodes fixed values and compares, then decodes the file and
// checks the values (go test ./manifest -run Golden -update rewrites them).

func TestGoldenNode(t *testing.T) {
	for _, c := range []struct {
		file string
		node *Node
	}{
		{"node.hex", &Node{Entries: sampleEntries()}},
		{"pieces.hex", &Node{Pieces: []digest.ID{idOf("piece 1"), idOf("piece 2")}}},
	} {
		b, err := c.node.Encode()
		if err != nil {
			t.Fatal(err)
		}
		golden.Check(t, c.file, golden.Hex(b))
		got, err := DecodeNode(golden.ReadHex(t, c.file))
		if err != nil {
			t.Fatalf("%s: %v", c.file, err)
		}
		if !reflect.DeepEqual(got, c.node) {
			t.Errorf("%s decodes to\n%+v\nwant\n%+v", c.file, got, c.node)
		}
	}
}

func TestGoldenChunkList(t *testing.T) {
	chunks := testChunks(3, "golden")
	golden.Check(t, "chunklist.hex", golden.Hex(encodeChunkList(chunks)))
	got, err := DecodeChunkList(golden.ReadHex(t, "chunklist.hex"))
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, chunks) {
		t.Errorf("chunklist.hex decodes to %v, want %v", got, chunks)
	}
}

func TestGoldenSnapshot(t *testing.T) {
	b, err := sampleSnapshot().Encode()
	if err != nil {
		t.Fatal(err)
	}
	golden.Check(t, "snapshot.json", append(b, '\n'))
	file := golden.Read(t, "snapshot.json")
	got, err := DecodeSnapshot(file[:len(file)-1])
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, sampleSnapshot()) {
		t.Errorf("snapshot.json decodes to\n%+v\nwant\n%+v", got, sampleSnapshot())
	}
}

func TestGoldenRoots(t *testing.T) {
	var sb strings.Builder
	for n := range 9 {
		fmt.Fprintf(&sb, "leaves %d: %s\n", n, MerkleRoot(testLeaves(n)))
	}
	fmt.Fprintf(&sb, "content root of 20 chunks: %s\n", ContentRoot(testChunks(20, "golden")))
	for _, e := range sampleEntries() {
		fmt.Fprintf(&sb, "leaf %s: %s\n", e.Name, e.LeafHash())
	}
	root, _, err := WriteDir(t.Context(), newMemStore(), sampleEntries())
	if err != nil {
		t.Fatal(err)
	}
	fmt.Fprintf(&sb, "directory root: %s\n", root)
	golden.Check(t, "roots.txt", []byte(sb.String()))
}

// TestGoldenProof freezes the proof file of docs/proof.md, as cairn proof writes it
// (BuildProof, then the fields for the reader), for a file with chunks and for a
// path that is not UTF-8 (path_bytes).
func TestGoldenProof(t *testing.T) {
	p := newProofTree(t)
	for _, c := range []struct {
		file, path string
		local      []byte
	}{
		{"proof-file.json", "/home/ann/notes.txt", p.content},
		{"proof-latin1.json", "/home/ann/latin1-\xe9\xff", nil},
	} {
		pr := p.prove(t, c.path)
		pr.Snapshot = idOf("snapshot")
		pr.Time = time.Date(2025, 1, 31, 2, 0, 0, 0, time.UTC)
		pr.Host = "nas"
		b, err := pr.Encode()
		if err != nil {
			t.Fatal(err)
		}
		golden.Check(t, c.file, b)
		got, err := DecodeProof(golden.Read(t, c.file))
		if err != nil {
			t.Fatalf("%s: %v", c.file, err)
		}
		if !reflect.DeepEqual(got, pr) {
			t.Errorf("%s decodes to\n%+v\nwant\n%+v", c.file, got, pr)
		}
		if got.ExactPath() != c.path {
			t.Errorf("%s: path %q, want %q", c.file, got.ExactPath(), c.path)
		}
		var local io.Reader // nil: no local file to check
		if c.local != nil {
			local = bytes.NewReader(c.local)
		}
		if err := got.Verify(&p.root, local); err != nil {
			t.Errorf("%s does not verify: %v", c.file, err)
		}
	}
}
