// Package golden holds what the golden-file tests of cairn's encodings share: the
// -update flag, the comparison with testdata/, a hex layout that shows where bytes
// changed, and a deterministic random source for encodings that draw nonces or salts.
// Only tests import it.
//
// A golden test encodes fixed inputs and compares the bytes with its file, then
// decodes the file and checks the values: an encoder change and a decoder change each
// fail it. A failure means readers of existing repositories (or proofs) would break;
// when the change is meant, the format's version goes up and the files are rewritten
// with go test ./the/package -run Golden -update.
package golden

import (
	"bytes"
	"encoding/hex"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"testing/cryptotest"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

// Check compares got with testdata/name, or rewrites the file under -update.
func Check(t testing.TB, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.MkdirAll("testdata", 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -run Golden -update in the package to create it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s changed: the encoding is frozen; if the change is meant, bump the version "+
			"and run go test -run Golden -update in the package\n got:\n%s\nwant:\n%s", path, got, want)
	}
}

// Read returns the bytes of testdata/name, for the decoding half of a golden test.
func Read(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// ReadHex returns the bytes a file written in the Hex layout holds.
func ReadHex(t testing.TB, name string) []byte {
	t.Helper()
	b, err := hex.DecodeString(strings.ReplaceAll(string(Read(t, name)), "\n", ""))
	if err != nil {
		t.Fatalf("testdata/%s: %v", name, err)
	}
	return b
}

// Hex writes 32 bytes per line, so a change shows where it is.
func Hex(b []byte) []byte {
	var sb strings.Builder
	for len(b) > 0 {
		n := min(32, len(b))
		sb.WriteString(hex.EncodeToString(b[:n]) + "\n")
		b = b[n:]
	}
	return []byte(sb.String())
}

// Seed is the seed of the random source Random installs.
const Seed = 0xca112

// Random makes crypto/rand, and with it every key, nonce and salt cairn draws, a fixed
// stream for the rest of t, so that sealed encodings repeat byte for byte. It changes
// nothing outside tests; t and its ancestors must not be parallel.
func Random(t *testing.T) {
	cryptotest.SetGlobalRandom(t, Seed)
}
