package manifest

import (
	"bytes"
	"encoding/hex"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/cairn-backup/cairn/internal/digest"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

// checkGolden compares got with testdata/name, or rewrites the file under -update. A
// difference means the format changed: readers of existing repositories would break.
func checkGolden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test ./manifest -update to create it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s changed: the encoding is frozen; if the change is meant, bump the version "+
			"and run go test ./manifest -update\n got:\n%s\nwant:\n%s", path, got, want)
	}
}

// hexLines writes 32 bytes per line, so a change shows where it is.
func hexLines(b []byte) []byte {
	var sb strings.Builder
	for len(b) > 0 {
		n := min(32, len(b))
		sb.WriteString(hex.EncodeToString(b[:n]) + "\n")
		b = b[n:]
	}
	return []byte(sb.String())
}

func TestGoldenNode(t *testing.T) {
	b, err := (&Node{Entries: sampleEntries()}).Encode()
	if err != nil {
		t.Fatal(err)
	}
	checkGolden(t, "node.hex", hexLines(b))
	p, err := (&Node{Pieces: []digest.ID{idOf("piece 1"), idOf("piece 2")}}).Encode()
	if err != nil {
		t.Fatal(err)
	}
	checkGolden(t, "pieces.hex", hexLines(p))
}

func TestGoldenChunkList(t *testing.T) {
	checkGolden(t, "chunklist.hex", hexLines(encodeChunkList(testChunks(3, "golden"))))
}

func TestGoldenSnapshot(t *testing.T) {
	b, err := sampleSnapshot().Encode()
	if err != nil {
		t.Fatal(err)
	}
	checkGolden(t, "snapshot.json", append(b, '\n'))
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
	checkGolden(t, "roots.txt", []byte(sb.String()))
}
