package manifest

import (
	"encoding/binary"
	"errors"
	"fmt"
	"strings"

	"github.com/cairn-backup/cairn/internal/digest"
)

// Limits of the encoding. Encoders refuse and decoders reject anything beyond them, so
// a hostile node can never make a reader allocate more than a small multiple of its
// size.
const (
	MaxNameLen    = 4096     // bytes of an entry or xattr name
	MaxTargetLen  = 64 << 10 // bytes of a symlink target
	MaxXattrs     = 1024     // xattrs per entry
	MaxXattrValue = 64 << 10 // bytes of one xattr value
	MaxEntrySize  = 4 << 20  // encoded bytes of one entry (hashed and side data)
	MaxNodeSize   = 16 << 20 // bytes of a node blob (the repository's blob limit)
	MaxPieceBytes = 4 << 20  // encoded entry bytes per directory piece
	InlineChunks  = 16       // chunks stored inside the entry; longer lists go to list nodes
	MaxListChunks = 4096     // chunks per chunk-list node
	MaxDepth      = 4096     // directory nesting accepted by Walk and Diff
)

var (
	// ErrCorrupt reports bytes or a tree that break the format: a decoder rejection, a
	// Merkle root or size that does not match, a tree nested too deep.
	ErrCorrupt = errors.New("corrupt manifest")
	// ErrInvalid reports an encoder asked to write something the format forbids.
	ErrInvalid = errors.New("invalid manifest data")
)

// Type is the kind of file system object an entry describes.
type Type uint8

// Entry types; the numbers are part of the encoding.
const (
	File Type = 1 + iota
	Dir
	Symlink
	FIFO
	Socket
	CharDev
	BlockDev
)

var typeNames = [...]string{"", "file", "dir", "symlink", "fifo", "socket", "chardev", "blockdev"}

func (t Type) String() string {
	if t.valid() {
		return typeNames[t]
	}
	return fmt.Sprintf("type(%d)", uint8(t))
}

func (t Type) valid() bool { return t >= File && t <= BlockDev }

// Xattr is one extended attribute.
type Xattr struct {
	Name  string
	Value []byte
}

// Chunk is one content-defined piece of a file: the SHA-256 of its plaintext (its blob
// id) and its length.
type Chunk struct {
	ID   digest.ID
	Size uint32
}

// Entry is one name in a directory. The first group of fields is hashed into the
// entry's Merkle leaf; the second is side data, stored in the node blob but not
// hashed, because it changes with where the tree lives, not with what it holds.
type Entry struct {
	Name    string    // one path component, raw bytes, possibly not UTF-8
	Type    Type      // one of File … BlockDev
	Mode    uint32    // permission bits with setuid, setgid and sticky (07777); no type bits
	UID     uint32    // owner
	GID     uint32    // group
	Size    uint64    // file size; 0 for other types
	MTime   int64     // nanoseconds since the Unix epoch
	Nlink   uint32    // hard link count (meaningful for non-directories)
	Rdev    uint64    // device number of character and block devices; 0 otherwise
	Target  string    // symlink target bytes; empty for other types
	Xattrs  []Xattr   // sorted by Name, no duplicates
	Content digest.ID // File: ContentRoot of its chunks; Dir: its Merkle root; else zero

	CTime   int64       // nanoseconds since the Unix epoch
	Inode   uint64      // with Dev, tells hard links apart and detects changes
	Dev     uint64      // device of the file system the entry was read from
	Sparse  bool        // File: the source had holes
	Subtree digest.ID   // Dir: blob id of the child directory's node
	Chunks  []Chunk     // File: the chunk list, when it has at most InlineChunks chunks
	Lists   []digest.ID // File: blob ids of its chunk-list nodes, for longer files
}

// ValidName reports whether name can be created as one path component. Decoders accept
// other names (a restore skips and reports them); encoders refuse them.
func ValidName(name string) bool {
	return name != "" && name != "." && name != ".." && !strings.ContainsAny(name, "/\x00")
}

const entryVersion = 1

// HashedEncoding returns the canonical encoding of the hashed fields: the leaf the
// directory's Merkle tree is built over. Its last 32 bytes are always Content, so a
// proof can step from an entry to its child's root without parsing.
func (e *Entry) HashedEncoding() []byte { return e.appendHashed(nil) }

// LeafHash returns the entry's Merkle leaf hash, SHA-256(0x00 ‖ HashedEncoding()).
func (e *Entry) LeafHash() digest.ID { return LeafHash(e.HashedEncoding()) }

func (e *Entry) appendHashed(b []byte) []byte {
	b = append(b, entryVersion, byte(e.Type))
	b = appendString(b, e.Name)
	for _, v := range [...]uint64{uint64(e.Mode), uint64(e.UID), uint64(e.GID), e.Size} {
		b = binary.AppendUvarint(b, v)
	}
	b = binary.AppendVarint(b, e.MTime)
	b = binary.AppendUvarint(b, uint64(e.Nlink))
	b = binary.AppendUvarint(b, e.Rdev)
	b = appendString(b, e.Target)
	b = binary.AppendUvarint(b, uint64(len(e.Xattrs)))
	for _, x := range e.Xattrs {
		b = appendString(b, x.Name)
		b = appendString(b, string(x.Value))
	}
	return append(b, e.Content[:]...)
}

const flagSparse = 1

func (e *Entry) appendSide(b []byte) []byte {
	b = binary.AppendVarint(b, e.CTime)
	b = binary.AppendUvarint(b, e.Inode)
	b = binary.AppendUvarint(b, e.Dev)
	var flags byte
	if e.Sparse {
		flags |= flagSparse
	}
	b = append(b, flags)
	switch e.Type {
	case Dir:
		b = append(b, e.Subtree[:]...)
	case File:
		b = appendChunks(b, e.Chunks)
		b = binary.AppendUvarint(b, uint64(len(e.Lists)))
		for _, id := range e.Lists {
			b = append(b, id[:]...)
		}
	}
	return b
}

func appendString(b []byte, s string) []byte {
	b = binary.AppendUvarint(b, uint64(len(s)))
	return append(b, s...)
}

func appendChunks(b []byte, chunks []Chunk) []byte {
	b = binary.AppendUvarint(b, uint64(len(chunks)))
	for _, c := range chunks {
		b = append(b, c.ID[:]...)
		b = binary.AppendUvarint(b, uint64(c.Size))
	}
	return b
}

// problem returns why e breaks the format ("" if it does not), leaving the name's
// validity aside: encoders and decoders share it so that they accept the same entries.
func (e *Entry) problem() string {
	if p := e.hashedProblem(); p != "" {
		return p
	}
	switch {
	case !e.Subtree.IsZero() && e.Type != Dir:
		return fmt.Sprintf("subtree on a %s", e.Type)
	case e.Type != File && (e.Sparse || len(e.Chunks) > 0 || len(e.Lists) > 0):
		return fmt.Sprintf("file data on a %s", e.Type)
	}
	return e.chunkProblem()
}

// hashedProblem checks the hashed fields only.
func (e *Entry) hashedProblem() string {
	switch {
	case !e.Type.valid():
		return fmt.Sprintf("unknown type %d", e.Type)
	case len(e.Name) > MaxNameLen:
		return fmt.Sprintf("name of %d bytes, above %d", len(e.Name), MaxNameLen)
	case e.Mode&^0o7777 != 0:
		return fmt.Sprintf("mode %#o has bits outside 07777", e.Mode)
	case e.Size != 0 && e.Type != File:
		return fmt.Sprintf("size %d on a %s", e.Size, e.Type)
	case e.Rdev != 0 && e.Type != CharDev && e.Type != BlockDev:
		return fmt.Sprintf("device number on a %s", e.Type)
	case e.Target != "" && e.Type != Symlink:
		return fmt.Sprintf("symlink target on a %s", e.Type)
	case len(e.Target) > MaxTargetLen:
		return fmt.Sprintf("symlink target of %d bytes, above %d", len(e.Target), MaxTargetLen)
	case (e.Type == File || e.Type == Dir) && e.Content.IsZero():
		return fmt.Sprintf("%s without a content root", e.Type)
	case e.Type != File && e.Type != Dir && !e.Content.IsZero():
		return fmt.Sprintf("content root on a %s", e.Type)
	}
	return xattrProblem(e.Xattrs)
}

func xattrProblem(xs []Xattr) string {
	if len(xs) > MaxXattrs {
		return fmt.Sprintf("%d xattrs, above %d", len(xs), MaxXattrs)
	}
	for i, x := range xs {
		switch {
		case x.Name == "" || len(x.Name) > MaxNameLen:
			return fmt.Sprintf("xattr %d: name of %d bytes", i, len(x.Name))
		case len(x.Value) > MaxXattrValue:
			return fmt.Sprintf("xattr %q: value of %d bytes, above %d", x.Name, len(x.Value), MaxXattrValue)
		case i > 0 && x.Name <= xs[i-1].Name:
			return fmt.Sprintf("xattr %q: not after %q", x.Name, xs[i-1].Name)
		}
	}
	return ""
}

func (e *Entry) chunkProblem() string {
	switch {
	case len(e.Chunks) > 0 && len(e.Lists) > 0:
		return "both inline chunks and chunk lists"
	case len(e.Chunks) > InlineChunks:
		return fmt.Sprintf("%d inline chunks, above %d", len(e.Chunks), InlineChunks)
	}
	var sum uint64
	for i, c := range e.Chunks {
		if c.Size == 0 {
			return fmt.Sprintf("chunk %d is empty", i)
		}
		sum += uint64(c.Size)
	}
	if len(e.Lists) == 0 && sum != e.Size {
		return fmt.Sprintf("chunks hold %d bytes, size is %d", sum, e.Size)
	}
	return ""
}
