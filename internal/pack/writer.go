package pack

import (
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"hash"
	"io"

	"github.com/cairn-backup/cairn/internal/crypto"
	"github.com/cairn-backup/cairn/internal/digest"
)

// Writer builds one pack, in memory or streamed to an io.Writer (a temporary file, so
// that a backup holds a few chunks in memory rather than a few whole packs). It is not
// safe for concurrent use: the backup pipeline keeps one Writer per open pack and
// feeds each from one goroutine, while the zstd encoders behind all Writers are shared.
type Writer struct {
	key         *crypto.Key
	repo        digest.ID
	compression Compression

	out       io.Writer // nil: the pack is kept in buf
	hash      hash.Hash // of everything written to out
	size      int       // bytes of sealed blobs so far
	sealed    []byte    // the blob being written to out, reused
	err       error     // the first write error to out
	buf       []byte    // in memory: sealed blobs so far; the header is appended by Finish
	entries   []Entry
	entrySize int    // encoded size of the header entries so far
	scratch   []byte // mode ‖ payload of the blob being added, reused
	opener    Opener // checks the blobs Copy is given
	finished  bool

	// maxSize and maxCount are MaxPackSize and MaxBlobsPerPack; tests lower them.
	maxSize, maxCount int
}

// NewWriter returns a Writer that seals under key for repository repo and compresses
// at level c.
func NewWriter(key *crypto.Key, repo digest.ID, c Compression) *Writer {
	return &Writer{key: key, repo: repo, compression: c, maxSize: MaxPackSize, maxCount: MaxBlobsPerPack}
}

// NewStreamWriter returns a Writer that writes the pack to out as blobs are added;
// Finish then returns no data, only the id and entries.
func NewStreamWriter(key *crypto.Key, repo digest.ID, c Compression, out io.Writer) *Writer {
	w := NewWriter(key, repo, c)
	w.out, w.hash = out, sha256.New()
	return w
}

// Size returns the bytes written so far: the pack without its header and trailer.
func (w *Writer) Size() int { return w.size }

// Count returns the number of blobs added.
func (w *Writer) Count() int { return len(w.entries) }

// Add compresses, seals and appends one blob. id must be digest.Of(plaintext): the
// caller has computed it for deduplication already, so Add does not hash again
// (OpenBlob checks it on every read). It fails with ErrFull if the finished pack would
// exceed MaxPackSize or MaxBlobsPerPack; the Writer is unchanged then.
func (w *Writer) Add(t BlobType, id digest.ID, plaintext []byte) (Entry, error) {
	switch {
	case w.finished:
		return Entry{}, errors.New("add blob: pack already finished")
	case !t.Valid():
		return Entry{}, fmt.Errorf("add blob %s: invalid type %d", id.Short(), uint8(t))
	case !w.compression.Valid():
		return Entry{}, fmt.Errorf("add blob %s: invalid compression %d", id.Short(), int(w.compression))
	case len(plaintext) > MaxBlobSize:
		return Entry{}, fmt.Errorf("add blob %s: %d bytes exceeds the %d-byte limit", id.Short(), len(plaintext), MaxBlobSize)
	case len(w.entries) >= w.maxCount:
		return Entry{}, fmt.Errorf("add blob %s: %d blobs: %w", id.Short(), len(w.entries), ErrFull)
	}
	var err error
	w.scratch, err = appendPayload(w.scratch[:0], plaintext, w.compression)
	if err != nil {
		return Entry{}, fmt.Errorf("add blob %s: %w", id.Short(), err)
	}
	e, err := w.reserve(t, id, len(w.scratch)+crypto.Overhead)
	if err != nil {
		return Entry{}, err
	}
	if w.out != nil {
		w.sealed = w.key.Seal(w.sealed[:0], w.scratch, blobAD(w.repo, t, id))
		err = w.write(w.sealed)
	} else {
		w.grow(int(e.Length))
		w.buf = w.key.Seal(w.buf, w.scratch, blobAD(w.repo, t, id))
	}
	return w.commit(e, err)
}

// Copy appends a blob sealed before, in this pack or another of the same repository,
// as it is: its nonce, mode and payload are kept, nothing is recompressed or sealed
// again. A blob's seal binds it to the repository, its type and its id, not to a pack
// or an offset, so the copy opens where it lands. Copy first opens sealed as OpenBlob
// does (the seal under t and id, the payload, the content hash) and refuses a blob
// that does not, with OpenBlob's errors: damage is never carried into a new pack. It
// fails with ErrFull as Add does; the Writer is unchanged then.
func (w *Writer) Copy(t BlobType, id digest.ID, sealed []byte) (Entry, error) {
	switch {
	case w.finished:
		return Entry{}, errors.New("copy blob: pack already finished")
	case len(sealed) > MaxSealedBlobSize:
		return Entry{}, corrupt("copy blob %s: sealed length %d exceeds %d", id.Short(), len(sealed), MaxSealedBlobSize)
	case len(w.entries) >= w.maxCount:
		return Entry{}, fmt.Errorf("copy blob %s: %d blobs: %w", id.Short(), len(w.entries), ErrFull)
	}
	e := Entry{Type: t, ID: id, Length: uint32(len(sealed))}
	if _, err := w.opener.Open(w.key, w.repo, e, sealed); err != nil {
		return Entry{}, fmt.Errorf("copy blob: %w", err)
	}
	e, err := w.reserve(t, id, len(sealed))
	if err != nil {
		return Entry{}, err
	}
	if w.out != nil {
		err = w.write(sealed)
	} else {
		w.grow(len(sealed))
		w.buf = append(w.buf, sealed...)
	}
	return w.commit(e, err)
}

// reserve returns the entry of a blob of sealedLen bytes about to be appended, or
// ErrFull if the finished pack would then exceed its limits.
func (w *Writer) reserve(t BlobType, id digest.ID, sealedLen int) (Entry, error) {
	entrySize := 1 + digest.Size + uvarintLen(uint64(sealedLen))
	if w.finalSize(w.size+sealedLen, len(w.entries)+1, w.entrySize+entrySize) > w.maxSize {
		return Entry{}, fmt.Errorf("add blob %s: pack would exceed %d bytes: %w", id.Short(), w.maxSize, ErrFull)
	}
	return Entry{Type: t, ID: id, Offset: uint32(w.size), Length: uint32(sealedLen)}, nil
}

// commit records an appended blob, unless writing it failed.
func (w *Writer) commit(e Entry, err error) (Entry, error) {
	if err != nil {
		return Entry{}, fmt.Errorf("add blob %s: %w", e.ID.Short(), err)
	}
	w.size += int(e.Length)
	w.entries = append(w.entries, e)
	w.entrySize += 1 + digest.Size + uvarintLen(uint64(e.Length))
	return e, nil
}

// grow makes room for n more bytes, doubling the buffer. append alone grows large
// slices by 1.25×, which copies a 64 MiB pack about four times over while it fills:
// BenchmarkAdd/off ran at 160–210 MB/s that way, mostly in memmove.
func (w *Writer) grow(n int) {
	if cap(w.buf)-len(w.buf) >= n {
		return
	}
	buf := make([]byte, len(w.buf), max(min(2*cap(w.buf), w.maxSize), len(w.buf)+n, 1<<20))
	copy(buf, w.buf)
	w.buf = buf
}

// finalSize is the size of a finished pack with these blob bytes and header entries.
func (w *Writer) finalSize(blobBytes, count, entryBytes int) int {
	return blobBytes + crypto.Overhead + 1 + uvarintLen(uint64(count)) + entryBytes + trailerSize
}

// Finish appends the sealed header and the trailer and returns the whole pack, its id
// and its entries. The Writer hands over its buffers and accepts nothing afterwards.
func (w *Writer) Finish() (data []byte, id digest.ID, entries []Entry, err error) {
	if w.finished {
		return nil, id, nil, errors.New("finish pack: already finished")
	}
	w.finished = true
	plain := encodeHeader(w.entries, w.entrySize)
	entries = w.entries
	if w.out != nil {
		tail := w.key.Seal(nil, plain, headerAD(w.repo))
		tail = binary.LittleEndian.AppendUint32(tail, uint32(len(tail)))
		if err := w.write(tail); err != nil {
			return nil, id, nil, fmt.Errorf("finish pack: %w", err)
		}
		w.size += len(tail)
		copy(id[:], w.hash.Sum(nil))
		w.entries, w.scratch, w.sealed, w.opener = nil, nil, nil, Opener{}
		return nil, id, entries, nil
	}
	start := len(w.buf)
	data = w.key.Seal(w.buf, plain, headerAD(w.repo))
	data = binary.LittleEndian.AppendUint32(data, uint32(len(data)-start))
	w.size = len(data)
	w.buf, w.entries, w.scratch, w.opener = nil, nil, nil, Opener{}
	return data, digest.Of(data), entries, nil
}

// write sends bytes to out and the hash; after an error every write fails.
func (w *Writer) write(b []byte) error {
	if w.err != nil {
		return w.err
	}
	if _, err := w.out.Write(b); err != nil {
		w.err = err
		return err
	}
	w.hash.Write(b)
	return nil
}

// Len returns the size of the finished pack (after Finish).
func (w *Writer) Len() int { return w.size }

// encodeHeader returns version ‖ count ‖ entries; entryBytes sizes the buffer.
func encodeHeader(entries []Entry, entryBytes int) []byte {
	plain := make([]byte, 0, 1+binary.MaxVarintLen64+entryBytes)
	plain = append(plain, headerVersion)
	plain = binary.AppendUvarint(plain, uint64(len(entries)))
	for _, e := range entries {
		plain = append(plain, byte(e.Type))
		plain = append(plain, e.ID[:]...)
		plain = binary.AppendUvarint(plain, uint64(e.Length))
	}
	return plain
}

func uvarintLen(v uint64) int {
	n := 1
	for ; v >= 0x80; v >>= 7 {
		n++
	}
	return n
}
