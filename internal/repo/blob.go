package repo

import (
	"github.com/cairn-backup/cairn/internal/digest"
	"github.com/cairn-backup/cairn/internal/pack"
)

// BlobType says what a blob holds: file content (DataBlob) or a manifest node
// (TreeBlob). It is the one blob type of packs and index alike; engines name it here.
type BlobType = pack.BlobType

// The blob types.
const (
	DataBlob = pack.Data
	TreeBlob = pack.Tree
)

// Blob is a blob where the index places it: in pack Pack, the sealed bytes at
// Offset..Offset+Length. Engines pass Blobs back to the repository to read them;
// only verify, which judges the layout, looks at Offset and Length.
type Blob struct {
	Type           BlobType
	ID             digest.ID
	Pack           digest.ID
	Offset, Length uint32
}

// End returns the offset just past the sealed blob.
func (b Blob) End() int64 { return int64(b.Offset) + int64(b.Length) }

func (b Blob) entry() pack.Entry {
	return pack.Entry{Type: b.Type, ID: b.ID, Offset: b.Offset, Length: b.Length}
}

func blobOf(p digest.ID, e pack.Entry) Blob {
	return Blob{Type: e.Type, ID: e.ID, Pack: p, Offset: e.Offset, Length: e.Length}
}

// Compression is the zstd level new packs are written with (Options.Compression).
type Compression = pack.Compression

// ParseCompression accepts "off", "fastest", "default" or "max".
func ParseCompression(s string) (Compression, error) { return pack.ParseCompression(s) }
