package manifest

import (
	"context"
	"encoding/binary"
	"fmt"

	"github.com/cairn-backup/cairn/internal/digest"
)

// BlobLoader returns the bytes of a stored tree blob (a node or a chunk list). It
// checks that they hash to id; its errors keep their own sentinels (absent, damaged).
type BlobLoader interface {
	LoadTree(ctx context.Context, id digest.ID) ([]byte, error)
}

// BlobSaver stores a tree blob and returns its id, digest.Of(data). Storing a blob
// that is already stored is cheap: it is deduplicated.
type BlobSaver interface {
	SaveTree(ctx context.Context, data []byte) (digest.ID, error)
}

// WriteDir stores a directory whose entries are sorted by name and returns its Merkle
// root and the blob id of its node. It refuses, as Node.Encode does, unsorted entries
// and entries that break the format. A large directory is stored as pieces with
// content-defined boundaries, so that changing one entry rewrites O(1) pieces.
func WriteDir(ctx context.Context, s BlobSaver, entries []Entry) (root, blob digest.ID, err error) {
	encs := make([][]byte, len(entries))
	leaves := make([]digest.ID, len(entries))
	for i := range entries {
		enc, hashed, err := encodeEntry(entries, i)
		if err != nil {
			return digest.ID{}, digest.ID{}, err
		}
		encs[i], leaves[i] = enc, LeafHash(hashed)
	}
	root = rootOf(leaves)
	ends := splitPieces(encs, leaves)
	if len(ends) == 1 {
		blob, err = save(ctx, s, entriesBlob(encs))
	} else {
		blob, err = savePieces(ctx, s, encs, ends)
	}
	if err != nil {
		return digest.ID{}, digest.ID{}, err
	}
	return root, blob, nil
}

// savePieces stores each run of entries as a piece, then the node listing them.
func savePieces(ctx context.Context, s BlobSaver, encs [][]byte, ends []int) (digest.ID, error) {
	ids := make([]digest.ID, len(ends))
	start := 0
	for i, end := range ends {
		var err error
		if ids[i], err = save(ctx, s, entriesBlob(encs[start:end])); err != nil {
			return digest.ID{}, err
		}
		start = end
	}
	b, err := encodePieces(ids, 0)
	if err != nil {
		return digest.ID{}, err
	}
	return save(ctx, s, b)
}

func save(ctx context.Context, s BlobSaver, b []byte) (digest.ID, error) {
	if err := ctx.Err(); err != nil {
		return digest.ID{}, err
	}
	id, err := s.SaveTree(ctx, b)
	if err != nil {
		return id, fmt.Errorf("save tree node: %w", err)
	}
	return id, nil
}

// pieceCut reports whether a piece ends after the entry with this leaf hash: when the
// low 12 bits of the hash (its last two bytes, big-endian) are zero, one in 4096.
// Boundaries that depend only on the entries themselves resynchronise right after a
// change, which is what keeps the rewrite of a large directory to O(1) pieces.
func pieceCut(leaf digest.ID) bool {
	return binary.BigEndian.Uint16(leaf[digest.Size-2:])&0x0fff == 0
}

// splitPieces returns the end index of each piece. A piece also ends before an entry
// that would take it above MaxPieceBytes, so a piece blob stays within 4 MiB plus its
// header (one entry alone never exceeds MaxEntrySize = MaxPieceBytes).
func splitPieces(encs [][]byte, leaves []digest.ID) []int {
	var ends []int
	size := 0
	for i, enc := range encs {
		if size > 0 && size+len(enc) > MaxPieceBytes {
			ends = append(ends, i)
			size = 0
		}
		size += len(enc)
		if pieceCut(leaves[i]) && i < len(encs)-1 {
			ends = append(ends, i+1)
			size = 0
		}
	}
	return append(ends, len(encs))
}

// ReadDir loads a whole directory, resolving its pieces, and checks that its entries'
// Merkle root is root (unless root is zero). A mismatch or a malformed node wraps
// ErrCorrupt; the loader's errors are passed on wrapped.
func ReadDir(ctx context.Context, l BlobLoader, blob, root digest.ID) (*Node, error) {
	n, leaves, err := loadNode(ctx, l, blob)
	if err != nil {
		return nil, err
	}
	entries, err := resolve(ctx, l, blob, n, leaves, root)
	if err != nil {
		return nil, err
	}
	return &Node{Entries: entries}, nil
}

// resolve returns the entries of the directory whose node n was loaded from blob,
// loading its pieces if it has any, and checks their Merkle root.
func resolve(ctx context.Context, l BlobLoader, blob digest.ID, n *Node, leaves []digest.ID, root digest.ID) ([]Entry, error) {
	entries := n.Entries
	if len(n.Pieces) > 0 {
		var err error
		if entries, leaves, err = loadPieces(ctx, l, n.Pieces); err != nil {
			return nil, err
		}
	}
	if got := rootOf(leaves); !root.IsZero() && got != root {
		return nil, fmt.Errorf("tree node %s: Merkle root %s, want %s: %w", blob, got, root, ErrCorrupt)
	}
	return entries, nil
}

func loadNode(ctx context.Context, l BlobLoader, id digest.ID) (*Node, []digest.ID, error) {
	if err := ctx.Err(); err != nil {
		return nil, nil, err
	}
	b, err := l.LoadTree(ctx, id)
	if err != nil {
		return nil, nil, fmt.Errorf("load tree node %s: %w", id, err)
	}
	n, leaves, err := decodeNode(b, true)
	if err != nil {
		return nil, nil, fmt.Errorf("tree node %s: %w", id, err)
	}
	return n, leaves, nil
}

// loadPieces loads pieces in order and joins their entries, which must stay sorted
// across pieces. A piece must be a non-empty entries node, so pieces never nest.
func loadPieces(ctx context.Context, l BlobLoader, ids []digest.ID) ([]Entry, []digest.ID, error) {
	nodes := make([]*Node, len(ids))
	var leaves []digest.ID
	total := 0
	for i, id := range ids {
		p, pl, err := loadNode(ctx, l, id)
		switch {
		case err != nil:
			return nil, nil, err
		case len(p.Entries) == 0:
			return nil, nil, fmt.Errorf("piece %d (%s): not a non-empty entries node: %w", i, id, ErrCorrupt)
		case i > 0 && p.Entries[0].Name <= lastName(nodes[i-1]):
			return nil, nil, fmt.Errorf("piece %d (%s): name %q not after %q: %w",
				i, id, p.Entries[0].Name, lastName(nodes[i-1]), ErrCorrupt)
		}
		nodes[i] = p
		leaves = append(leaves, pl...)
		total += len(p.Entries)
	}
	// Joined once: entries are large, and a directory may have 100k of them.
	entries := make([]Entry, 0, total)
	for _, p := range nodes {
		entries = append(entries, p.Entries...)
	}
	return entries, leaves, nil
}

func lastName(n *Node) string { return n.Entries[len(n.Entries)-1].Name }
