package pack

import (
	"encoding/binary"
	"fmt"

	"github.com/cairn-backup/cairn/internal/crypto"
	"github.com/cairn-backup/cairn/internal/digest"
)

// minTail and tailFraction size the first ranged read of a pack. A header costs about
// 37 bytes per blob, so a tail of packSize/128 holds the whole header whenever the
// sealed blobs average 4.7 KB or more, which file-data packs (chunks of 0.5–8 MiB) always
// do; tree packs of tiny nodes pay one more read, told exactly how much by ParseTail.
// The 64 KiB floor costs small packs no extra round trip.
const (
	minTail      = 64 << 10
	tailFraction = 128
)

// TailSize returns how many bytes to fetch from the end of a pack of packSize bytes
// before calling ParseTail.
func TailSize(packSize int64) int64 {
	return max(0, min(packSize, max(minTail, packSize/tailFraction)))
}

// ParseTail reads a pack's header from tail, the last len(tail) bytes of a pack of
// packSize bytes. If the sealed header does not fit in tail it returns need > 0, the
// number of bytes to fetch from the end instead, and no error; calling again with that
// many bytes succeeds or fails for good.
func ParseTail(key *crypto.Key, repo digest.ID, tail []byte, packSize int64) (entries []Entry, need int64, err error) {
	if packSize < minHeaderSize+trailerSize || packSize > MaxPackSize {
		return nil, 0, corrupt("pack size %d outside [%d, %d]", packSize, minHeaderSize+trailerSize, MaxPackSize)
	}
	if int64(len(tail)) > packSize {
		return nil, 0, fmt.Errorf("parse pack tail: %d-byte tail of a %d-byte pack", len(tail), packSize)
	}
	if len(tail) < trailerSize {
		return nil, TailSize(packSize), nil
	}
	hdrLen := int64(binary.LittleEndian.Uint32(tail[len(tail)-trailerSize:]))
	if hdrLen < minHeaderSize || hdrLen > MaxHeaderSize || hdrLen+trailerSize > packSize {
		return nil, 0, corrupt("header length %d in a %d-byte pack", hdrLen, packSize)
	}
	if hdrLen+trailerSize > int64(len(tail)) {
		return nil, hdrLen + trailerSize, nil
	}
	sealed := tail[int64(len(tail))-trailerSize-hdrLen : len(tail)-trailerSize]
	plain, err := key.Open(nil, sealed, headerAD(repo))
	if err != nil {
		return nil, 0, fmt.Errorf("pack header: %w", err)
	}
	entries, err = decodeHeader(plain, packSize)
	if err != nil {
		return nil, 0, fmt.Errorf("pack header: %w", err)
	}
	return entries, 0, nil
}

// ParsePack reads the header of a whole pack held in memory. The blobs themselves are
// checked by OpenBlob(key, repo, e, data[e.Offset:e.End()]) for each entry, so that a
// verifier can name every damaged blob rather than only the first.
func ParsePack(key *crypto.Key, repo digest.ID, data []byte) ([]Entry, error) {
	entries, need, err := ParseTail(key, repo, data, int64(len(data)))
	if err == nil && need > 0 {
		// Unreachable: ParseTail checks the header fits in the pack. Kept so a future
		// change cannot turn into a silent empty result.
		err = corrupt("header needs %d bytes of a %d-byte pack", need, len(data))
	}
	return entries, err
}

// decodeHeader parses a header plaintext of a pack of packSize bytes. It checks every
// count and length before allocating, and that the blobs, the sealed header and the
// trailer add up to packSize exactly.
func decodeHeader(plain []byte, packSize int64) ([]Entry, error) {
	if len(plain) < 2 || packSize > MaxPackSize {
		return nil, corrupt("header of %d bytes in a %d-byte pack", len(plain), packSize)
	}
	if plain[0] != headerVersion {
		return nil, corrupt("header version %d, want %d", plain[0], headerVersion)
	}
	count, n, err := readUvarint(plain[1:])
	if err != nil {
		return nil, corrupt("blob count: %v", err)
	}
	rest := plain[1+n:]
	if count > MaxBlobsPerPack || count*minEntrySize > uint64(len(rest)) {
		return nil, corrupt("blob count %d in %d header bytes", count, len(rest))
	}
	blobBytes := packSize - int64(len(plain)) - crypto.Overhead - trailerSize
	entries := make([]Entry, 0, count)
	var offset int64
	for i := range count {
		e, n, err := decodeEntry(rest)
		if err != nil {
			return nil, corrupt("entry %d: %v", i, err)
		}
		if offset+int64(e.Length) > blobBytes {
			return nil, corrupt("entry %d: blob at %d+%d overruns %d blob bytes", i, offset, e.Length, blobBytes)
		}
		e.Offset = uint32(offset)
		entries = append(entries, e)
		offset += int64(e.Length)
		rest = rest[n:]
	}
	if len(rest) != 0 {
		return nil, corrupt("%d stray bytes after %d entries", len(rest), count)
	}
	if offset != blobBytes {
		return nil, corrupt("blobs hold %d bytes, pack has %d before its header", offset, blobBytes)
	}
	return entries, nil
}

// decodeEntry parses type ‖ id ‖ length from the front of b.
func decodeEntry(b []byte) (Entry, int, error) {
	var e Entry
	if len(b) < minEntrySize {
		return e, 0, fmt.Errorf("%d bytes left, want at least %d", len(b), minEntrySize)
	}
	e.Type = BlobType(b[0])
	if !e.Type.Valid() {
		return e, 0, fmt.Errorf("unknown blob type %d", b[0])
	}
	copy(e.ID[:], b[1:1+digest.Size])
	length, n, err := readUvarint(b[1+digest.Size:])
	if err != nil {
		return e, 0, fmt.Errorf("length: %v", err)
	}
	if length < minSealedBlobSize || length > MaxSealedBlobSize {
		return e, 0, fmt.Errorf("sealed length %d outside [%d, %d]", length, minSealedBlobSize, MaxSealedBlobSize)
	}
	e.Length = uint32(length)
	return e, 1 + digest.Size + n, nil
}

// readUvarint accepts only the shortest encoding, so every header has one byte form.
func readUvarint(b []byte) (uint64, int, error) {
	v, n := binary.Uvarint(b)
	switch {
	case n == 0:
		return 0, 0, fmt.Errorf("truncated uvarint")
	case n < 0 || n > binary.MaxVarintLen32:
		return 0, 0, fmt.Errorf("uvarint overflows 32 bits")
	case n != uvarintLen(v):
		return 0, 0, fmt.Errorf("uvarint %d not in its shortest form", v)
	}
	return v, n, nil
}

// OpenBlob authenticates, decompresses and checks one sealed blob, the bytes of e in
// its pack. A wrong key, repository, id or type fails with crypto.ErrAuth; a blob that
// opens but is malformed, too large or not hashing to e.ID fails with ErrCorrupt.
func OpenBlob(key *crypto.Key, repo digest.ID, e Entry, sealed []byte) ([]byte, error) {
	plain, err := openBlob(key, repo, e, sealed, nil, nil)
	return plain, wrapOpen(e, err)
}

// OpenBlobInPlace is OpenBlob without the copies: it decrypts in sealed's own storage,
// which it overwrites (also when it fails), and decompresses a compressed payload into
// a buffer from alloc (nil: a new one). The result aliases sealed or that buffer. A
// restore or a verify opens every byte it reads once: a fresh plaintext buffer per
// blob would cost a clear, page faults and garbage collection for nothing.
func OpenBlobInPlace(key *crypto.Key, repo digest.ID, e Entry, sealed []byte, alloc func(n int) []byte) ([]byte, error) {
	var dst []byte
	if len(sealed) >= crypto.NonceSize {
		dst = sealed[crypto.NonceSize:crypto.NonceSize] // the AEAD allows exact overlap only
	}
	plain, err := openBlob(key, repo, e, sealed, dst, alloc)
	return plain, wrapOpen(e, err)
}

// wrapOpen names the blob in an error of openBlob.
func wrapOpen(e Entry, err error) error {
	if err != nil {
		return fmt.Errorf("%s blob %s at offset %d: %w", e.Type, e.ID.Short(), e.Offset, err)
	}
	return nil
}

// openBlob opens sealed into dst (nil: a new buffer) and decompresses into a buffer
// from alloc (nil: a new one).
func openBlob(key *crypto.Key, repo digest.ID, e Entry, sealed, dst []byte, alloc func(n int) []byte) ([]byte, error) {
	if !e.Type.Valid() {
		return nil, corrupt("unknown blob type %d", uint8(e.Type))
	}
	if int64(len(sealed)) != int64(e.Length) {
		return nil, corrupt("%d sealed bytes, entry says %d", len(sealed), e.Length)
	}
	if len(sealed) < minSealedBlobSize || len(sealed) > MaxSealedBlobSize {
		return nil, corrupt("sealed length %d outside [%d, %d]", len(sealed), minSealedBlobSize, MaxSealedBlobSize)
	}
	plain, err := key.Open(dst, sealed, blobAD(repo, e.Type, e.ID))
	if err != nil {
		return nil, err
	}
	out, err := decodePayload(plain, alloc)
	if err != nil {
		return nil, err
	}
	if got := digest.Of(out); got != e.ID {
		return nil, corrupt("content hashes to %s", got.Short())
	}
	return out, nil
}

// Opener opens blobs one at a time into two buffers it reuses (one for the plaintext,
// one for a decompressed payload), leaving the sealed bytes as they are: a verifier
// that only checks blobs keeps none of them, so a fresh buffer per blob would cost a
// clear, page faults and garbage collection for nothing. Not safe for concurrent use.
type Opener struct {
	plain, out []byte
}

// Open is OpenBlob into o's buffers: the result is valid until the next call.
func (o *Opener) Open(key *crypto.Key, repo digest.ID, e Entry, sealed []byte) ([]byte, error) {
	if n := len(sealed); cap(o.plain) < n && n <= MaxSealedBlobSize {
		o.plain = make([]byte, 0, grow(cap(o.plain), n))
	}
	plain, err := openBlob(key, repo, e, sealed, o.plain[:0], o.alloc)
	return plain, wrapOpen(e, err)
}

func (o *Opener) alloc(n int) []byte {
	if cap(o.out) < n {
		o.out = make([]byte, grow(cap(o.out), n))
	}
	return o.out[:n]
}

// grow returns the new capacity of a buffer of capacity c that must hold n bytes: at
// least double, so that blobs of growing sizes leave little garbage behind.
func grow(c, n int) int {
	return max(n, min(2*c, MaxSealedBlobSize+zstdMaxBlock+zstdOverAlloc))
}
