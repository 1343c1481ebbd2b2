package index

import (
	"encoding/binary"
	"fmt"
	"math"

	"github.com/cairn-backup/cairn/internal/digest"
)

// DecodeSegment parses and checks the plaintext of an index segment. Every error
// wraps ErrCorrupt and names the byte offset where decoding stopped.
func DecodeSegment(b []byte) (*Segment, error) {
	if len(b) > MaxSegmentSize {
		return nil, fmt.Errorf("decode index segment: %d bytes, above limit %d: %w", len(b), MaxSegmentSize, ErrCorrupt)
	}
	r := &reader{b: b}
	if len(b) < headerSize || string(b[:len(magic)]) != magic {
		return nil, r.fail("not an index segment (bad magic)")
	}
	if b[len(magic)] != version {
		return nil, r.fail("unknown version %d", b[len(magic)])
	}
	r.off = headerSize
	s := &Segment{}
	n, err := r.count("supersedes", digest.Size)
	if err != nil {
		return nil, err
	}
	if n > 0 {
		s.Supersedes = make([]digest.ID, n)
	}
	for i := range s.Supersedes {
		s.Supersedes[i] = r.id()
	}
	if n, err = r.count("packs", minPackSize); err != nil {
		return nil, err
	}
	if n > 0 {
		s.Packs = make([]Pack, n)
	}
	for i := range s.Packs {
		if err := r.pack(&s.Packs[i], i); err != nil {
			return nil, err
		}
	}
	if r.off != len(b) {
		return nil, r.fail("%d bytes after the last pack", len(b)-r.off)
	}
	return s, nil
}

// reader walks a segment. Counts are checked against the bytes left before any
// allocation, so a hostile count cannot make the decoder allocate more than a small
// multiple of the input.
type reader struct {
	b   []byte
	off int
}

func (r *reader) fail(format string, args ...any) error {
	return fmt.Errorf("decode index segment at byte %d: %s: %w", r.off, fmt.Sprintf(format, args...), ErrCorrupt)
}

// uvarint reads a varint in its shortest form; on failure it says why.
func (r *reader) uvarint() (uint64, string) {
	v, n := binary.Uvarint(r.b[r.off:])
	switch {
	case n == 0:
		return 0, "truncated"
	case n < 0:
		return 0, "overflows 64 bits"
	case n > 1 && r.b[r.off+n-1] == 0:
		return 0, "not in shortest form"
	}
	r.off += n
	return v, ""
}

// count reads the count of the items that follow, each at least minSize bytes long.
func (r *reader) count(what string, minSize int) (int, error) {
	v, why := r.uvarint()
	if why != "" {
		return 0, r.fail("%s count: %s", what, why)
	}
	if left := uint64(len(r.b) - r.off); v > left/uint64(minSize) {
		return 0, r.fail("%s count %d cannot fit in %d bytes", what, v, left)
	}
	return int(v), nil
}

// id reads 32 bytes; callers have checked that they are there.
func (r *reader) id() (id digest.ID) {
	r.off += copy(id[:], r.b[r.off:])
	return id
}

func (r *reader) pack(p *Pack, i int) error {
	if len(r.b)-r.off < minPackSize {
		return r.fail("pack %d: truncated", i)
	}
	p.ID = r.id()
	var why string
	if p.Size, why = r.uvarint(); why != "" {
		return r.fail("pack %d size: %s", i, why)
	}
	n, err := r.count(fmt.Sprintf("pack %d blobs", i), minBlobSize)
	if err != nil {
		return err
	}
	if n > 0 {
		p.Blobs = make([]Blob, n)
	}
	for j := range p.Blobs {
		if err := r.blob(&p.Blobs[j], p.Size, i, j); err != nil {
			return err
		}
	}
	return nil
}

func (r *reader) blob(b *Blob, packSize uint64, i, j int) error {
	if len(r.b)-r.off < minBlobSize {
		return r.fail("pack %d blob %d: truncated", i, j)
	}
	b.Type = BlobType(r.b[r.off])
	r.off++
	b.ID = r.id()
	off, why := r.uvarint()
	if why != "" {
		return r.fail("pack %d blob %d offset: %s", i, j, why)
	}
	length, why := r.uvarint()
	if why != "" {
		return r.fail("pack %d blob %d length: %s", i, j, why)
	}
	// Values past 32 bits saturate; checkBlob then rejects them as above the limit.
	b.Offset = uint32(min(off, math.MaxUint32))
	b.Length = uint32(min(length, math.MaxUint32))
	if err := checkBlob(*b, packSize); err != nil {
		return r.fail("pack %d blob %d: %s", i, j, err)
	}
	return nil
}
