package manifest

import (
	"crypto/sha256"
	"math/bits"

	"github.com/cairn-backup/cairn/internal/digest"
)

// The Merkle tree is RFC 6962's (section 2.1): distinct prefixes for leaves (0x00) and
// inner nodes (0x01) keep a leaf from being passed off as a subtree, and the left
// subtree of n leaves always holds the largest power of two below n.

// LeafHash returns SHA-256(0x00 ‖ leaf), the hash of one Merkle leaf.
func LeafHash(leaf []byte) digest.ID {
	h := sha256.New()
	h.Write([]byte{0})
	h.Write(leaf)
	var id digest.ID
	h.Sum(id[:0])
	return id
}

// idLeafHash is LeafHash for a 32-byte leaf, without an allocation.
func idLeafHash(id digest.ID) digest.ID {
	var b [1 + digest.Size]byte
	copy(b[1:], id[:])
	return sha256.Sum256(b[:])
}

func innerHash(left, right digest.ID) digest.ID {
	var b [1 + 2*digest.Size]byte
	b[0] = 1
	copy(b[1:], left[:])
	copy(b[1+digest.Size:], right[:])
	return sha256.Sum256(b[:])
}

// split returns k, the largest power of two below n (n ≥ 2).
func split(n int) int { return 1 << (bits.Len(uint(n-1)) - 1) }

// MerkleRoot returns the Merkle tree hash of leaves: SHA-256("") for none,
// SHA-256(0x00 ‖ d) for one, SHA-256(0x01 ‖ MTH(D[0:k]) ‖ MTH(D[k:n])) above.
func MerkleRoot(leaves [][]byte) digest.ID { return rootOf(leafHashes(leaves)) }

// ContentRoot returns a file's content root: the Merkle root over its chunk ids.
func ContentRoot(chunks []Chunk) digest.ID {
	hs := make([]digest.ID, len(chunks))
	for i, c := range chunks {
		hs[i] = idLeafHash(c.ID)
	}
	return rootOf(hs)
}

func leafHashes(leaves [][]byte) []digest.ID {
	hs := make([]digest.ID, len(leaves))
	for i, l := range leaves {
		hs[i] = LeafHash(l)
	}
	return hs
}

// rootOf returns the Merkle root over leaf hashes; every inner node is hashed once.
func rootOf(hs []digest.ID) digest.ID {
	switch len(hs) {
	case 0:
		return digest.Of(nil)
	case 1:
		return hs[0]
	}
	k := split(len(hs))
	return innerHash(rootOf(hs[:k]), rootOf(hs[k:]))
}

// MerklePath returns the audit path of leaf i: the sibling subtree hashes from the leaf
// up to the root, as in RFC 6962 section 2.1.1. It returns nil if i is out of range.
func MerklePath(leaves [][]byte, i int) []digest.ID {
	if i < 0 || i >= len(leaves) {
		return nil
	}
	return pathOf(leafHashes(leaves), i)
}

func pathOf(hs []digest.ID, i int) []digest.ID {
	if len(hs) <= 1 {
		return nil
	}
	k := split(len(hs))
	if i < k {
		return append(pathOf(hs[:k], i), rootOf(hs[k:]))
	}
	return append(pathOf(hs[k:], i-k), rootOf(hs[:k]))
}

// VerifyMerklePath reports whether leaf is leaf i of n in the tree whose root is root,
// given its audit path (RFC 9162 section 2.1.3.2). It proves that the leaf is in the
// tree; the same path may also verify with another n whose tree has the same shape
// along it (i = 0 of 3 and of 4), so n itself is not proven.
func VerifyMerklePath(leaf []byte, i, n int, path []digest.ID, root digest.ID) bool {
	got, ok := RootFromPath(LeafHash(leaf), i, n, path)
	return ok && got == root
}

// RootFromPath recomputes the root from leaf hash h at index i of n and its audit path.
// ok is false if the path has the wrong length for i and n.
func RootFromPath(h digest.ID, i, n int, path []digest.ID) (root digest.ID, ok bool) {
	if i < 0 || i >= n {
		return root, false
	}
	fn, sn := uint(i), uint(n-1)
	for _, p := range path {
		if sn == 0 {
			return root, false
		}
		if fn&1 == 1 || fn == sn {
			h = innerHash(p, h)
			// Climb past the levels where this subtree is the last, unpaired one.
			for fn&1 == 0 && fn != 0 {
				fn >>= 1
				sn >>= 1
			}
		} else {
			h = innerHash(h, p)
		}
		fn >>= 1
		sn >>= 1
	}
	return h, sn == 0
}
