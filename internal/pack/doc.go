// Package pack writes and reads packs: the encrypted, compressed files that hold
// blobs (file chunks and manifest nodes) in the repository's data/ directory.
//
// # Format, version 1
//
// All integers are little-endian; uvarint is encoding/binary's unsigned varint in its
// shortest form (readers reject longer forms, so every header has one encoding).
// Seal is the repository's AEAD as in package crypto (XAES-256-GCM in format 2,
// XChaCha20-Poly1305 in format 1): a 24-byte random nonce, the ciphertext, a 16-byte
// tag (crypto.Overhead = 40 bytes added); AD is crypto.AD.
//
//	pack          = blob_0 ‖ blob_1 ‖ … ‖ blob_{n-1} ‖ sealed_header ‖ header_len
//	header_len    = uint32, the length of sealed_header
//	blob_i        = Seal(mode ‖ payload, AD(repo, "blob/" + type_name, id))
//	mode          = 0x00: payload is the blob's bytes
//	                0x01: payload is one zstd frame (RFC 8878) of the blob's bytes,
//	                      whose header declares its content size (Frame_Content_Size)
//	sealed_header = Seal(header, AD(repo, "pack-header", empty))
//	header        = version (0x01) ‖ count uvarint ‖ count × entry
//	entry         = type byte ‖ id [32]byte ‖ length uvarint
//
// type is 0 for data blobs (type_name "data") and 1 for tree blobs ("tree"). id is the
// SHA-256 of the blob's plaintext, repo the repository id. length is the sealed length
// of the blob; offsets are implicit: blob 0 starts at byte 0 and each next blob right
// after the one before, so blob_i starts at the sum of the lengths before it. The
// pack's id, and its object name, is the SHA-256 of all its bytes.
//
// Blobs may be empty (a sealed length of 41 bytes: mode plus the envelope). Writers
// store a blob raw when zstd does not make it at least 1/32 smaller; readers accept
// either mode for any blob.
//
// # Limits, checked by readers before they allocate
//
//   - a pack is at most MaxPackSize (256 MiB) bytes, a blob's plaintext at most
//     MaxBlobSize (16 MiB), a pack holds at most MaxBlobsPerPack (1<<20) blobs;
//   - a sealed blob is 41 to MaxSealedBlobSize bytes (raw mode of MaxBlobSize bytes);
//   - header_len is 42 to MaxHeaderSize bytes and, with the 4-byte trailer, fits in the
//     pack; count fits the header (each entry takes at least 34 bytes);
//   - the sum of the blob lengths + header_len + 4 equals the pack size exactly, and
//     no bytes follow the last entry;
//   - a zstd frame must declare a content size of at most MaxBlobSize; the reader
//     decodes into a buffer of exactly that size and no further (writers set the
//     Single_Segment flag, which makes the size field present even for tiny blobs);
//   - a blob's plaintext must hash to its id.
//
// # Reading
//
// Headers are sealed, so the storage learns only pack sizes, never blob ids or sizes.
// A reader fetches the last TailSize(size) bytes, calls ParseTail, and refetches once
// if the header is longer; it then fetches each blob's range and calls OpenBlob.
// Errors wrap crypto.ErrAuth for anything that does not authenticate (a wrong key,
// damaged bytes, a blob presented under another id, type or repository) and ErrCorrupt
// for structure that is wrong (bad lengths, a truncated pack whose trailer no longer
// points at a header, or content inside a valid seal that breaks the rules above).
package pack
