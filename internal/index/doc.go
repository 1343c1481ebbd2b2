// Package index maps a blob id (the SHA-256 of a chunk or of a manifest node) to where
// the blob is stored: its pack, its byte offset inside the pack and its sealed length.
//
// # Segments
//
// The repository stores the index as segments (index/<id>), each the encryption of the
// plaintext below; this package only encodes and decodes that plaintext. `‖` is
// concatenation; uvarint is the unsigned varint of Go's encoding/binary in its shortest
// form; an id is 32 raw bytes.
//
//	segment    = magic ‖ version ‖ supersedes ‖ packs
//	magic      = "CRNI"                    (4 bytes: 0x43 0x52 0x4e 0x49)
//	version    = 0x01                      (1 byte)
//	supersedes = count uvarint ‖ count × id
//	             ids of older segments whose content this one replaces
//	packs      = count uvarint ‖ count × pack
//	pack       = id (32 bytes, SHA-256 of the pack file)
//	             ‖ size uvarint            (bytes of the pack file)
//	             ‖ count uvarint ‖ count × blob
//	blob       = type (1 byte: 0x00 data, 0x01 tree)
//	             ‖ id (32 bytes, SHA-256 of the blob's plaintext)
//	             ‖ offset uvarint          (of the sealed blob in the pack)
//	             ‖ length uvarint          (of the sealed blob)
//
// Readers reject (ErrCorrupt) a segment larger than MaxSegmentSize, another magic or
// version, an unknown blob type, a uvarint that is truncated, overflows or is not in
// its shortest form, a count larger than the remaining bytes could hold, an offset
// above MaxOffset, a length of 0 or above MaxLength, a blob that ends past its pack's
// size, and bytes after the last pack. Every accepted segment re-encodes to the same
// bytes. The order of packs and blobs is the writer's; readers do not depend on it.
// The same pack or blob may appear in several segments (a repack, or a backup killed
// after uploading a pack): readers keep the first location they see of a blob, and
// refuse a pack listed with two different sizes.
//
// # Memory
//
// Index never answers "present" for a blob it was not given: a truncated id alone
// could make deduplication skip data that was never stored. Below two million blobs
// it keeps every full id in memory, under 40 bytes a blob: records of a fixed width
// are packed bit by bit into sorted byte slices, the leading id bits are implied by a
// bucket table instead of stored, and pack, offset and length take only as many bits
// as the largest values present need (see table.go).
//
// From two million blobs on, the tables turn compact (compact.go): a record keeps the
// id's first 48 bits, the type and the position of the blob's full record (id, type,
// pack, offset, length: 45 bytes) in a spill file that is only ever appended to
// (spill.go), about 7 bytes a blob in memory. A lookup whose prefix and type match
// reads the full record with pread and compares the whole id; ids crafted to share a
// prefix thus cost a read each, never a wrong answer. The spill file lives in the
// directory SpillDir names (the repository's cache), is removed at once where the
// system allows it and by Close otherwise; if it cannot be created or written, the
// blobs stay in memory in full.
package index
