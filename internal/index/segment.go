package index

import (
	"encoding/binary"
	"errors"
	"fmt"

	"github.com/cairn-backup/cairn/internal/digest"
	"github.com/cairn-backup/cairn/internal/pack"
)

// Limits every entry obeys. Offsets and lengths fit packs of at most 256 MiB holding
// sealed blobs of at most 32 MiB; pack numbers are 32 bits in memory.
const (
	MaxOffset      = 1<<28 - 1
	MaxLength      = 1<<25 - 1
	MaxPacks       = 1<<32 - 1
	MaxSegmentSize = 64 << 20
)

// ErrCorrupt reports index data that breaks the format or its limits.
var ErrCorrupt = errors.New("corrupt index")

// ErrFull reports an index that already holds MaxPacks packs.
var ErrFull = errors.New("index full")

const (
	magic       = "CRNI"
	version     = 1
	headerSize  = len(magic) + 1
	minPackSize = digest.Size + 1 + 1     // id, size, blob count
	minBlobSize = 1 + digest.Size + 1 + 1 // type, id, offset, length
)

// BlobType tells data chunks from manifest (tree) nodes; the same id may be stored
// once as each. It is the pack's type: one enum names a blob in packs and index alike.
type BlobType = pack.BlobType

// Blob types, as encoded.
const (
	Data = pack.Data
	Tree = pack.Tree
)

// Blob is one sealed blob inside a pack.
type Blob struct {
	Type           BlobType
	ID             digest.ID
	Offset, Length uint32
}

// Pack lists the blobs of one pack file, named by the SHA-256 of its bytes.
type Pack struct {
	ID    digest.ID
	Size  uint64
	Blobs []Blob
}

// Segment is the plaintext of one index object.
type Segment struct {
	Packs      []Pack
	Supersedes []digest.ID // older segments this one replaces
}

// checkBlob reports why b cannot be stored in a pack of packSize bytes.
func checkBlob(b Blob, packSize uint64) error {
	switch {
	case b.Type > Tree:
		return fmt.Errorf("unknown blob type %d", b.Type)
	case b.Offset > MaxOffset:
		return fmt.Errorf("offset %d above limit %d", b.Offset, MaxOffset)
	case b.Length == 0 || b.Length > MaxLength:
		return fmt.Errorf("length %d outside 1..%d", b.Length, MaxLength)
	case uint64(b.Offset)+uint64(b.Length) > packSize:
		return fmt.Errorf("blob ends at %d, past pack size %d", uint64(b.Offset)+uint64(b.Length), packSize)
	}
	return nil
}

func checkPack(p *Pack) error {
	for i, b := range p.Blobs {
		if err := checkBlob(b, p.Size); err != nil {
			return fmt.Errorf("pack %s blob %d: %s: %w", p.ID.Short(), i, err, ErrCorrupt)
		}
	}
	return nil
}

// Validate reports (ErrCorrupt) whether DecodeSegment would reject s's encoding, so
// that a writer never stores a segment its readers refuse.
func (s *Segment) Validate() error {
	for i := range s.Packs {
		if err := checkPack(&s.Packs[i]); err != nil {
			return fmt.Errorf("validate index segment: %w", err)
		}
	}
	if n := s.encodedSize(); n > MaxSegmentSize {
		return fmt.Errorf("validate index segment: %d bytes, above limit %d: %w", n, MaxSegmentSize, ErrCorrupt)
	}
	return nil
}

func uvarintLen(v uint64) int {
	n := 1
	for ; v >= 0x80; v >>= 7 {
		n++
	}
	return n
}

func (s *Segment) encodedSize() int {
	n := headerSize + uvarintLen(uint64(len(s.Supersedes))) + len(s.Supersedes)*digest.Size
	n += uvarintLen(uint64(len(s.Packs)))
	for _, p := range s.Packs {
		n += digest.Size + uvarintLen(p.Size) + uvarintLen(uint64(len(p.Blobs)))
		for _, b := range p.Blobs {
			n += 1 + digest.Size + uvarintLen(uint64(b.Offset)) + uvarintLen(uint64(b.Length))
		}
	}
	return n
}

// Encode returns the canonical encoding of s (see the package documentation). It
// does not check the limits: call Validate first.
func (s *Segment) Encode() []byte {
	b := make([]byte, 0, s.encodedSize())
	b = append(b, magic...)
	b = append(b, version)
	b = binary.AppendUvarint(b, uint64(len(s.Supersedes)))
	for _, id := range s.Supersedes {
		b = append(b, id[:]...)
	}
	b = binary.AppendUvarint(b, uint64(len(s.Packs)))
	for _, p := range s.Packs {
		b = append(b, p.ID[:]...)
		b = binary.AppendUvarint(b, p.Size)
		b = binary.AppendUvarint(b, uint64(len(p.Blobs)))
		for _, bl := range p.Blobs {
			b = append(b, byte(bl.Type))
			b = append(b, bl.ID[:]...)
			b = binary.AppendUvarint(b, uint64(bl.Offset))
			b = binary.AppendUvarint(b, uint64(bl.Length))
		}
	}
	return b
}
