// Package manifest describes a snapshot of a file system as a Merkle tree: directory
// nodes, chunk lists, snapshot records, their canonical encodings, and the walk and
// diff over them. It is pure: blobs are stored and loaded through BlobSaver and
// BlobLoader, which the repository implements.
//
// Every directory and file has two ids. Its blob id is the SHA-256 of a stored blob
// and names where it is kept. Its Merkle id covers only what the entry holds (names,
// types, modes, owners, sizes, times, targets, xattrs, content), not where it was read
// from (ctime, inode, device) nor how it is stored (blob ids of subtrees and chunk
// lists). The same tree backed up from two places therefore has the same Merkle root,
// and editing one file changes exactly the Merkle ids on its path to the root.
//
// # Merkle tree
//
// As in RFC 6962, for a list of leaves D[n], with k the largest power of two below n:
//
//	MTH({})   = SHA-256("")
//	MTH({d})  = SHA-256(0x00 ‖ d)
//	MTH(D[n]) = SHA-256(0x01 ‖ MTH(D[0:k]) ‖ MTH(D[k:n]))
//
// A file's content root is MTH over its chunk ids (each leaf the 32 raw bytes). A
// directory's Merkle root is MTH over the hashed encodings of its entries in name
// order, whether its node is stored whole or in pieces. An audit path (MerklePath) lists
// the sibling hashes from a leaf up; VerifyMerklePath follows RFC 9162 section 2.1.3.2.
//
// # Encodings
//
// `‖` is concatenation. uvarint is the unsigned varint of Go's encoding/binary, varint
// its zigzag signed form; both must be in their shortest form. An id is 32 raw bytes.
// str is uvarint length ‖ bytes.
//
// The hashed encoding of an entry (its Merkle leaf):
//
//	hashed  = 0x01 (entry version) ‖ type (1 byte) ‖ name str
//	          ‖ mode uvarint ‖ uid uvarint ‖ gid uvarint ‖ size uvarint
//	          ‖ mtime varint (ns since the Unix epoch) ‖ nlink uvarint ‖ rdev uvarint
//	          ‖ target str ‖ n_xattrs uvarint ‖ n_xattrs × (name str ‖ value str)
//	          ‖ content id
//	type    = 1 file, 2 directory, 3 symlink, 4 FIFO, 5 socket, 6 char device,
//	          7 block device
//	content = file: its content root; directory: its Merkle root; others: 32 zeros
//
// The side data of an entry, stored but not hashed:
//
//	side    = ctime varint ‖ inode uvarint ‖ dev uvarint ‖ flags (1 byte)
//	          ‖ (directory: subtree id, the blob id of its node)
//	          ‖ (file: n_chunks uvarint ‖ n_chunks × chunk ‖ n_lists uvarint ‖ n_lists × id)
//	flags   = bit 0: sparse (files only); the other bits are 0
//	chunk   = id ‖ size uvarint
//
// A directory node blob:
//
//	node    = "CRND" ‖ 0x01 (version) ‖ kind (1 byte) ‖ body
//	kind 0  = entries: count uvarint ‖ count × (uvarint len(hashed) ‖ hashed ‖ side)
//	kind 1  = pieces:  count uvarint (≥ 2) ‖ count × id of a kind-0 node (non-empty)
//
// A directory whose entries fit in one piece is one kind-0 node. A larger one is cut
// into pieces, each a kind-0 node over a run of its sorted entries: a piece ends after
// an entry whose leaf hash SHA-256(0x00 ‖ hashed) has the low 12 bits of its last two
// bytes (read big-endian) zero, and before an entry that would take its encoded entries
// above MaxPieceBytes (4 MiB). The boundaries depend on the entries alone, so one
// changed entry rewrites O(1) pieces.
//
// A chunk-list node blob:
//
//	list    = "CRNL" ‖ 0x01 (version) ‖ count uvarint (1 to 4096) ‖ count × chunk
//
// A file with up to InlineChunks (16) chunks keeps them in its side data (n_lists 0).
// A longer one keeps none there (n_chunks 0) and names list nodes instead: a list ends
// after a chunk whose id's last byte has its low six bits zero, or after 4096 chunks.
//
// # What readers reject
//
// Decoders return ErrCorrupt, naming the byte offset, for: a blob above MaxNodeSize
// (16 MiB); a bad magic; unknown version, kind, type or flags; a truncated,
// overflowing or non-shortest varint; a count that the remaining bytes cannot hold,
// checked before any allocation; a name above MaxNameLen (4096), a target above
// MaxTargetLen (64 KiB), more than MaxXattrs (1024) xattrs, an xattr value above
// MaxXattrValue (64 KiB), an entry above MaxEntrySize (4 MiB); a hashed part whose
// fields end before its stated length; entry names not strictly increasing (byte
// order); xattrs with empty names or not strictly increasing; mode bits outside 07777;
// a size, device number, target or content root on a type that has none; a file or
// directory without a content root; more than 16 inline chunks, an empty chunk, both
// inline chunks and lists, or inline chunk sizes not adding up to the size; fewer than
// two pieces; bytes after the end. Names that cannot be created (ValidName: "", ".",
// "..", or containing "/" or NUL) are accepted: a restore skips and reports each one
// and still restores its siblings. Every accepted blob re-encodes to the same bytes.
//
// ReadDir also rejects a piece that is not a non-empty entries node or that does not
// continue the name order, and a Merkle root other than the one the parent names;
// ReadChunks rejects chunk lists whose sizes do not add up to the file size or whose
// content root differs.
//
// # Snapshot record
//
// Compact JSON as written by Go's encoding/json for Snapshot, time in UTC
// (RFC 3339 with nanoseconds), ids in lower-case hex, at most MaxSnapshotSize (1 MiB).
// Readers accept only that exact form (no unknown fields, no other spacing, field
// order or escaping), so one record has one id, and version 1 only.
package manifest
