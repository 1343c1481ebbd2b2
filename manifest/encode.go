package manifest

import (
	"encoding/binary"
	"fmt"

	"github.com/cairn-backup/cairn/internal/digest"
)

const (
	nodeMagic     = "CRND"
	listMagic     = "CRNL"
	formatVersion = 1
	kindEntries   = 0
	kindPieces    = 1
	headerSize    = len(nodeMagic) + 2 // magic, version, kind
)

// Node is one directory node blob. A node decoded from a blob holds either Entries (a
// whole directory, or one piece of a large one) or Pieces (the blob ids of the pieces);
// ReadDir always returns a whole directory's Entries.
type Node struct {
	Entries []Entry     // sorted by name (byte order), no duplicates
	Pieces  []digest.ID // blob ids of the pieces, in name order; at least two
}

// Root returns the Merkle root over the node's entries: the directory's Merkle id when
// the node holds the whole directory.
func (n *Node) Root() digest.ID {
	hs := make([]digest.ID, len(n.Entries))
	for i := range n.Entries {
		hs[i] = n.Entries[i].LeafHash()
	}
	return rootOf(hs)
}

// Encode returns the node's blob. It refuses (ErrInvalid) unsorted or duplicate names,
// names ValidName rejects, entries that break the format, and blobs above MaxNodeSize.
func (n *Node) Encode() ([]byte, error) {
	if len(n.Pieces) > 0 {
		return encodePieces(n.Pieces, len(n.Entries))
	}
	encs := make([][]byte, len(n.Entries))
	for i := range n.Entries {
		enc, _, err := encodeEntry(n.Entries, i)
		if err != nil {
			return nil, err
		}
		encs[i] = enc
	}
	b := entriesBlob(encs)
	if len(b) > MaxNodeSize {
		return nil, fmt.Errorf("encode tree node: %d bytes, above %d (use WriteDir): %w", len(b), MaxNodeSize, ErrInvalid)
	}
	return b, nil
}

// EncodeUnchecked returns an entries node holding entries as given: in the given order,
// with whatever names and fields they have. It is for tests that build hostile trees
// ("..", "a/b", duplicates, unsorted); cairn never writes with it.
func EncodeUnchecked(entries []Entry) []byte {
	encs := make([][]byte, len(entries))
	for i := range entries {
		encs[i], _ = appendEntry(nil, &entries[i])
	}
	return entriesBlob(encs)
}

// encodeEntry checks entries[i] (its fields, its name, its order after entries[i-1])
// and returns its encoding within a node and the hashed part inside it.
func encodeEntry(entries []Entry, i int) (enc, hashed []byte, err error) {
	e := &entries[i]
	switch {
	case !ValidName(e.Name):
		err = fmt.Errorf("entry %d: invalid name %q", i, e.Name)
	case i > 0 && e.Name <= entries[i-1].Name:
		err = fmt.Errorf("entry %d: name %q not after %q", i, e.Name, entries[i-1].Name)
	default:
		if p := e.problem(); p != "" {
			err = fmt.Errorf("entry %q: %s", e.Name, p)
		}
	}
	if err != nil {
		return nil, nil, fmt.Errorf("encode tree node: %w: %w", err, ErrInvalid)
	}
	enc, hashed = appendEntry(nil, e)
	if len(enc) > MaxEntrySize {
		return nil, nil, fmt.Errorf("encode tree node: entry %q: %d bytes, above %d: %w", e.Name, len(enc), MaxEntrySize, ErrInvalid)
	}
	return enc, hashed, nil
}

// appendEntry appends uvarint len(hashed) ‖ hashed ‖ side and returns the hashed part.
func appendEntry(b []byte, e *Entry) (enc, hashed []byte) {
	// Sized up front: a directory of 100k entries encodes them all.
	hashed = e.appendHashed(make([]byte, 0, 64+len(e.Name)+len(e.Target)+xattrBytes(e.Xattrs)))
	if b == nil {
		b = make([]byte, 0, len(hashed)+48+len(e.Chunks)*(digest.Size+5)+len(e.Lists)*digest.Size)
	}
	b = binary.AppendUvarint(b, uint64(len(hashed)))
	start := len(b)
	b = append(b, hashed...)
	hashed = b[start:len(b):len(b)]
	return e.appendSide(b), hashed
}

func xattrBytes(xs []Xattr) int {
	n := 0
	for _, x := range xs {
		n += 6 + len(x.Name) + len(x.Value)
	}
	return n
}

func nodeHeader(magic string, kind byte, size int) []byte {
	b := make([]byte, 0, size)
	b = append(b, magic...)
	b = append(b, formatVersion)
	if magic == nodeMagic {
		b = append(b, kind)
	}
	return b
}

// entriesBlob joins encoded entries into an entries node.
func entriesBlob(encs [][]byte) []byte {
	size := headerSize + binary.MaxVarintLen64
	for _, e := range encs {
		size += len(e)
	}
	b := nodeHeader(nodeMagic, kindEntries, size)
	b = binary.AppendUvarint(b, uint64(len(encs)))
	for _, e := range encs {
		b = append(b, e...)
	}
	return b
}

func encodePieces(ids []digest.ID, entries int) ([]byte, error) {
	var why string
	switch {
	case entries > 0:
		why = "both entries and pieces"
	case len(ids) < 2:
		why = "a single piece (write it as an entries node)"
	case len(ids) > (MaxNodeSize-headerSize-binary.MaxVarintLen64)/digest.Size:
		why = fmt.Sprintf("%d pieces, too many for one node", len(ids))
	}
	if why != "" {
		return nil, fmt.Errorf("encode tree node: %s: %w", why, ErrInvalid)
	}
	b := nodeHeader(nodeMagic, kindPieces, headerSize+binary.MaxVarintLen64+len(ids)*digest.Size)
	b = binary.AppendUvarint(b, uint64(len(ids)))
	for _, id := range ids {
		b = append(b, id[:]...)
	}
	return b, nil
}

// encodeChunkList returns a chunk-list node; callers pass 1 to MaxListChunks chunks.
func encodeChunkList(chunks []Chunk) []byte {
	b := nodeHeader(listMagic, 0, len(listMagic)+1+binary.MaxVarintLen64+len(chunks)*(digest.Size+5))
	return appendChunks(b, chunks)
}
