package pack

import (
	"errors"
	"fmt"

	"github.com/cairn-backup/cairn/internal/crypto"
	"github.com/cairn-backup/cairn/internal/digest"
)

// Limits. Readers reject anything beyond them before allocating, so a hostile pack
// cannot make a reader allocate more than about MaxPackSize + MaxHeaderSize.
const (
	MaxBlobSize     = 16 << 20  // plaintext bytes of one blob
	MaxPackSize     = 256 << 20 // bytes of a whole pack, header and trailer included
	MaxBlobsPerPack = 1 << 20

	// MaxSealedBlobSize is the longest sealed blob: a raw payload of MaxBlobSize. A
	// compressed payload is kept only when it is smaller than the raw one.
	MaxSealedBlobSize = crypto.Overhead + 1 + MaxBlobSize
	minSealedBlobSize = crypto.Overhead + 1

	// maxEntrySize is type ‖ id ‖ length, the length uvarint being at most 4 bytes
	// because MaxSealedBlobSize < 1<<28 (checked by a test).
	maxEntrySize = 1 + digest.Size + 4
	minEntrySize = 1 + digest.Size + 1
	// maxCountSize is the uvarint length of MaxBlobsPerPack (< 1<<21, so 3 bytes).
	maxCountSize = 3

	// MaxHeaderSize is the longest sealed header, about 37 MiB.
	MaxHeaderSize = crypto.Overhead + 1 + maxCountSize + MaxBlobsPerPack*maxEntrySize
	minHeaderSize = crypto.Overhead + 1 + 1 // an empty pack: version and a zero count

	trailerSize   = 4
	headerVersion = 1
)

// ErrCorrupt reports a pack or blob whose structure is malformed: bad lengths, an
// unknown version, type or mode, a payload that does not decompress, or a blob whose
// content does not hash to its id. Authentication failures wrap crypto.ErrAuth instead,
// so a caller can tell damage inside a validly sealed object from a wrong key or a
// moved object.
var ErrCorrupt = errors.New("corrupt pack")

// ErrFull reports that a blob would push a pack past MaxPackSize or MaxBlobsPerPack;
// the caller finishes the pack and starts another.
var ErrFull = errors.New("pack full")

// BlobType says what a blob holds. It is bound into the blob's associated data, so a
// blob presented under the other type fails to open.
type BlobType uint8

// The blob types, as stored in the header.
const (
	Data BlobType = 0 // file content chunks
	Tree BlobType = 1 // manifest nodes
)

// Valid reports whether t is a known type.
func (t BlobType) Valid() bool { return t == Data || t == Tree }

// String returns "data" or "tree", the name used in the associated data.
func (t BlobType) String() string {
	switch t {
	case Data:
		return "data"
	case Tree:
		return "tree"
	}
	return fmt.Sprintf("BlobType(%d)", uint8(t))
}

// Entry locates one sealed blob in a pack.
type Entry struct {
	Type   BlobType
	ID     digest.ID // SHA-256 of the blob's plaintext
	Offset uint32    // from the start of the pack
	Length uint32    // sealed length
}

// End returns the offset just past the sealed blob.
func (e Entry) End() int64 { return int64(e.Offset) + int64(e.Length) }

func blobAD(repo digest.ID, t BlobType, id digest.ID) []byte {
	return crypto.AD(repo, "blob/"+t.String(), id[:])
}

func headerAD(repo digest.ID) []byte { return crypto.AD(repo, "pack-header", nil) }

func corrupt(format string, args ...any) error {
	return fmt.Errorf("%s: %w", fmt.Sprintf(format, args...), ErrCorrupt)
}
