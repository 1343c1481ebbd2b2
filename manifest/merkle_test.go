package manifest

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"testing"

	"github.com/cairn-backup/cairn/internal/digest"
)

// naiveRoot is MTH straight from RFC 6962, hashing leaves again at every level.
func naiveRoot(d [][]byte) digest.ID {
	switch len(d) {
	case 0:
		return sha256.Sum256(nil)
	case 1:
		return sha256.Sum256(append([]byte{0}, d[0]...))
	}
	k := 1
	for k*2 < len(d) {
		k *= 2
	}
	l, r := naiveRoot(d[:k]), naiveRoot(d[k:])
	return sha256.Sum256(append(append([]byte{1}, l[:]...), r[:]...))
}

// naivePath is PATH(m, D[n]) from RFC 6962 section 2.1.1.
func naivePath(m int, d [][]byte) []digest.ID {
	if len(d) <= 1 {
		return nil
	}
	k := 1
	for k*2 < len(d) {
		k *= 2
	}
	if m < k {
		return append(naivePath(m, d[:k]), naiveRoot(d[k:]))
	}
	return append(naivePath(m-k, d[k:]), naiveRoot(d[:k]))
}

func testLeaves(n int) [][]byte {
	d := make([][]byte, n)
	for i := range d {
		d[i] = []byte(fmt.Sprintf("leaf %d", i))
	}
	return d
}

func TestMerkleRootKnown(t *testing.T) {
	if got, want := MerkleRoot(nil).String(), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"; got != want {
		t.Errorf("empty root %s, want %s", got, want)
	}
	// SHA-256(0x00): the root of one empty leaf.
	if got, want := MerkleRoot([][]byte{{}}).String(), "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d"; got != want {
		t.Errorf("one empty leaf %s, want %s", got, want)
	}
}

// The reference vectors of RFC 6962 implementations (Certificate Transparency).
var ctLeaves = []string{"", "00", "10", "2021", "3031", "40414243", "5051525354555657", "606162636465666768696a6b6c6d6e6f"}

var ctRoots = []string{
	"e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
	"6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
	"fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
	"aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
	"d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
	"4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
	"76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
	"ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
	"5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
}

var ctPaths = map[int][]string{
	0: {"96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
		"5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
		"6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4"},
	5: {"bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
		"ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
		"d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7"},
}

func TestMerkleRFC6962Vectors(t *testing.T) {
	leaves := make([][]byte, len(ctLeaves))
	for i, h := range ctLeaves {
		leaves[i], _ = hex.DecodeString(h)
	}
	for n := range leaves {
		if got := MerkleRoot(leaves[:n]).String(); got != ctRoots[n] {
			t.Errorf("size %d: root %s, want %s", n, got, ctRoots[n])
		}
	}
	for i, want := range ctPaths {
		if got := fmt.Sprint(MerklePath(leaves, i)); got != fmt.Sprint(want) {
			t.Errorf("path of leaf %d: %s, want %s", i, got, want)
		}
	}
}

func TestMerkleAgainstBruteForce(t *testing.T) {
	for n := 0; n <= 70; n++ {
		d := testLeaves(n)
		root := MerkleRoot(d)
		if want := naiveRoot(d); root != want {
			t.Fatalf("n=%d: root %s, want %s", n, root, want)
		}
		if MerklePath(d, -1) != nil || MerklePath(d, n) != nil {
			t.Fatalf("n=%d: path for an index out of range", n)
		}
		for i := 0; i < n; i++ {
			path := MerklePath(d, i)
			if want := naivePath(i, d); fmt.Sprint(path) != fmt.Sprint(want) {
				t.Fatalf("n=%d i=%d: path %v, want %v", n, i, path, want)
			}
			if !VerifyMerklePath(d[i], i, n, path, root) {
				t.Fatalf("n=%d i=%d: valid path rejected", n, i)
			}
			checkAlteredPaths(t, d, i, path, root)
		}
	}
}

// checkAlteredPaths checks that every changed bit, index, size, leaf or path length
// fails verification.
func checkAlteredPaths(t *testing.T, d [][]byte, i int, path []digest.ID, root digest.ID) {
	t.Helper()
	n := len(d)
	fail := func(what string, leaf []byte, i, n int, path []digest.ID) {
		t.Helper()
		if VerifyMerklePath(leaf, i, n, path, root) {
			t.Fatalf("n=%d i=%d: %s accepted", len(d), i, what)
		}
	}
	for j := range path {
		for b := 0; b < digest.Size; b++ {
			alt := append([]digest.ID(nil), path...)
			alt[j][b] ^= 1 << (b % 8)
			fail(fmt.Sprintf("path[%d] byte %d flipped", j, b), d[i], i, n, alt)
		}
	}
	for k := -1; k <= n; k++ {
		if k != i {
			fail(fmt.Sprintf("index %d", k), d[i], k, n, path)
		}
	}
	// Another size may share the shape of this path (i=0 of 3 and of 4): RFC 9162
	// proves membership under the root, not the size. A shorter or longer shape fails.
	for _, m := range []int{0, i, 2*n + 1} {
		if m != n && len(naivePath(i, testLeaves(max(m, i+1)))) != len(path) {
			fail(fmt.Sprintf("size %d", m), d[i], i, m, path)
		}
	}
	fail("other leaf", []byte("not a leaf"), i, n, path)
	fail("path extended", d[i], i, n, append(append([]digest.ID(nil), path...), root))
	if len(path) > 0 {
		fail("path truncated", d[i], i, n, path[:len(path)-1])
	}
	if VerifyMerklePath(d[i], i, n, path, naiveRoot(d[:n-1])) {
		t.Fatalf("n=%d i=%d: wrong root accepted", n, i)
	}
}

func TestContentRootIsMerkleRootOfIDs(t *testing.T) {
	for n := range 20 {
		chunks := make([]Chunk, n)
		leaves := make([][]byte, n)
		for i := range chunks {
			chunks[i] = Chunk{ID: idOf(fmt.Sprint(i)), Size: 1}
			leaves[i] = chunks[i].ID[:]
		}
		if got, want := ContentRoot(chunks), naiveRoot(leaves); got != want {
			t.Fatalf("n=%d: content root %s, want %s", n, got, want)
		}
	}
}

func BenchmarkMerkleRoot(b *testing.B) {
	d := testLeaves(100_000)
	for b.Loop() {
		MerkleRoot(d)
	}
}
