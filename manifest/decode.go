package manifest

import (
	"encoding/binary"
	"fmt"
	"math"

	"github.com/cairn-backup/cairn/internal/digest"
)

// Smallest encodings, used to bound counts by the bytes left before allocating.
const (
	minHashedSize = 2 + 11 + digest.Size // version, type, 11 one-byte varints, content
	minEntrySize  = 1 + minHashedSize + 4
	minChunkSize  = digest.Size + 1
)

// reader decodes one blob. The first error sticks: later reads return zero values and
// allocate nothing, so decoders check r.err once per item rather than per field.
type reader struct {
	b    []byte
	off  int
	lim  int // reads stop here: the end of b, or of the hashed part being decoded
	what string
	err  error

	// Chunks are carved from a slab shared by a node's entries, one allocation per
	// node rather than one per file. A new slab holds what is asked for, or as many
	// chunks as entries are left (a count already checked against the bytes left).
	slab     []Chunk
	slabHint int
}

// chunkSlice returns n chunks from the slab; capacity n, so an append copies.
func (r *reader) chunkSlice(n int) []Chunk {
	if len(r.slab) < n {
		r.slab = make([]Chunk, max(n, r.slabHint))
	}
	cs := r.slab[:n:n]
	r.slab = r.slab[n:]
	return cs
}

func newReader(b []byte, what string) *reader {
	return &reader{b: b, lim: len(b), what: what}
}

func (r *reader) failf(format string, args ...any) {
	if r.err == nil {
		r.err = fmt.Errorf("decode %s at byte %d: %s: %w", r.what, r.off, fmt.Sprintf(format, args...), ErrCorrupt)
	}
}

func (r *reader) left() int { return r.lim - r.off }

func (r *reader) uvarint(field string) uint64 { return r.uvarintOf(field, "") }

// uvarintOf names the field field+suffix, joined only in an error: joining them for
// every read cost more than the read.
func (r *reader) uvarintOf(field, suffix string) uint64 {
	if r.err != nil {
		return 0
	}
	v, n := binary.Uvarint(r.b[r.off:r.lim])
	switch {
	case n == 0:
		r.failf("%s%s: truncated", field, suffix)
	case n < 0:
		r.failf("%s%s: overflows 64 bits", field, suffix)
	case n > 1 && r.b[r.off+n-1] == 0:
		r.failf("%s%s: varint not in shortest form", field, suffix)
	default:
		r.off += n
		return v
	}
	return 0
}

// varint reads a zigzag varint; its shortest form is that of the unsigned value.
func (r *reader) varint(field string) int64 {
	u := r.uvarint(field)
	return int64(u>>1) ^ -int64(u&1)
}

func (r *reader) uint32(field string) uint32 {
	v := r.uvarint(field)
	if v > math.MaxUint32 {
		r.failf("%s: %d does not fit 32 bits", field, v)
		return 0
	}
	return uint32(v)
}

func (r *reader) u8(field string) byte {
	if r.err == nil && r.left() < 1 {
		r.failf("%s: truncated", field)
	}
	if r.err != nil {
		return 0
	}
	r.off++
	return r.b[r.off-1]
}

func (r *reader) id(field string) (id digest.ID) {
	if r.err == nil && r.left() < digest.Size {
		r.failf("%s: truncated", field)
	}
	if r.err == nil {
		r.off += copy(id[:], r.b[r.off:])
	}
	return id
}

// bytes reads uvarint length ‖ bytes, the length at most max, and returns a sub-slice.
func (r *reader) bytes(field string, max int) []byte {
	n := r.uvarintOf(field, " length")
	switch {
	case r.err != nil:
		return nil
	case n > uint64(max):
		r.failf("%s: length %d above %d", field, n, max)
	case n > uint64(r.left()):
		r.failf("%s: length %d past the end", field, n)
	default:
		r.off += int(n)
		return r.b[r.off-int(n) : r.off]
	}
	return nil
}

// count reads the count of items that follow, each at least minSize bytes long.
func (r *reader) count(field string, minSize int) int {
	n := r.uvarintOf(field, " count")
	if r.err == nil && n > uint64(r.left()/minSize) {
		r.failf("%s count %d cannot fit in %d bytes", field, n, r.left())
		return 0
	}
	return int(n)
}

// header checks magic and version, and returns the kind byte of tree nodes.
func (r *reader) header(magic string) byte {
	if len(r.b) > MaxNodeSize {
		r.failf("%d bytes, above %d", len(r.b), MaxNodeSize)
	}
	if r.err == nil && (r.left() < len(magic)+1 || string(r.b[:len(magic)]) != magic) {
		r.failf("bad magic")
	}
	if r.err != nil {
		return 0
	}
	r.off += len(magic)
	if v := r.u8("version"); v != formatVersion {
		r.failf("unknown version %d", v)
	}
	if magic != nodeMagic {
		return 0
	}
	return r.u8("kind")
}

func (r *reader) end() {
	if r.err == nil && r.off != len(r.b) {
		r.failf("%d bytes after the end", len(r.b)-r.off)
	}
}

// DecodeNode parses and checks a directory node blob. Errors wrap ErrCorrupt and name
// the byte offset. Names ValidName rejects are accepted; unsorted ones are not.
func DecodeNode(b []byte) (*Node, error) {
	n, _, err := decodeNode(b, false)
	return n, err
}

// decodeNode decodes a node and, if asked, the leaf hashes of its entries.
func decodeNode(b []byte, wantLeaves bool) (*Node, []digest.ID, error) {
	r := newReader(b, "tree node")
	n := &Node{}
	var leaves []digest.ID
	switch kind := r.header(nodeMagic); {
	case r.err != nil:
	case kind == kindEntries:
		n.Entries, leaves = r.entries(wantLeaves)
	case kind == kindPieces:
		n.Pieces = r.pieces()
	default:
		r.failf("unknown kind %d", kind)
	}
	r.end()
	if r.err != nil {
		return nil, nil, r.err
	}
	return n, leaves, nil
}

func (r *reader) pieces() []digest.ID {
	n := r.count("pieces", digest.Size)
	if r.err == nil && n < 2 {
		r.failf("%d pieces, want at least 2", n)
	}
	if r.err != nil {
		return nil
	}
	ids := make([]digest.ID, n)
	for i := range ids {
		ids[i] = r.id("piece")
	}
	return ids
}

func (r *reader) entries(wantLeaves bool) ([]Entry, []digest.ID) {
	n := r.count("entries", minEntrySize)
	if r.err != nil || n == 0 {
		return nil, nil
	}
	es := make([]Entry, n)
	var leaves []digest.ID
	if wantLeaves {
		leaves = make([]digest.ID, n)
	}
	for i := range es {
		r.slabHint = n - i
		hashed := r.entry(&es[i])
		if r.err == nil && i > 0 && es[i].Name <= es[i-1].Name {
			r.failf("entry %d: name %q not after %q", i, es[i].Name, es[i-1].Name)
		}
		if r.err != nil {
			return nil, nil
		}
		if wantLeaves {
			leaves[i] = LeafHash(hashed)
		}
	}
	return es, leaves
}
