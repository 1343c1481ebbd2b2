package manifest

import (
	"context"
	"crypto/sha256"
	"fmt"
	"slices"

	"github.com/cairn-backup/cairn/internal/digest"
)

// WriteChunks records a file's chunks in e: it sets e.Content to their ContentRoot and
// stores them inline (e.Chunks) or, beyond InlineChunks, in chunk-list nodes (e.Lists).
// The chunk sizes must add up to e.Size, and no chunk may be empty.
func WriteChunks(ctx context.Context, s BlobSaver, e *Entry, chunks []Chunk) error {
	if e.Type != File {
		return fmt.Errorf("write chunks of %q: a %s has no chunks: %w", e.Name, e.Type, ErrInvalid)
	}
	var sum uint64
	for i, c := range chunks {
		if c.Size == 0 {
			return fmt.Errorf("write chunks of %q: chunk %d is empty: %w", e.Name, i, ErrInvalid)
		}
		sum += uint64(c.Size)
	}
	if sum != e.Size {
		return fmt.Errorf("write chunks of %q: chunks hold %d bytes, size is %d: %w", e.Name, sum, e.Size, ErrInvalid)
	}
	content := ContentRoot(chunks)
	if len(chunks) <= InlineChunks {
		e.Content, e.Chunks, e.Lists = content, nil, nil
		if len(chunks) > 0 {
			e.Chunks = slices.Clone(chunks)
		}
		return nil
	}
	var lists []digest.ID
	start := 0
	for _, end := range splitList(chunks) {
		id, err := save(ctx, s, encodeChunkList(chunks[start:end]))
		if err != nil {
			return fmt.Errorf("write chunks of %q: %w", e.Name, err)
		}
		lists = append(lists, id)
		start = end
	}
	e.Content, e.Chunks, e.Lists = content, nil, lists
	return nil
}

// listCut reports whether a chunk-list node ends after the chunk with this id: one in
// 64. As for directory pieces, boundaries set by content keep an insertion local.
func listCut(id digest.ID) bool { return id[digest.Size-1]&0x3f == 0 }

// splitList returns the end index of each chunk-list node: after a chunk listCut
// chooses, and after MaxListChunks chunks at most.
func splitList(chunks []Chunk) []int {
	var ends []int
	start := 0
	for i, c := range chunks {
		if (listCut(c.ID) || i+1-start == MaxListChunks) && i < len(chunks)-1 {
			ends = append(ends, i+1)
			start = i + 1
		}
	}
	return append(ends, len(chunks))
}

// ReadChunks returns the chunks of a file entry, inline or loaded from its chunk-list
// nodes, after checking that they add up to e.Size and that their ContentRoot is
// e.Content (ErrCorrupt otherwise).
func ReadChunks(ctx context.Context, l BlobLoader, e *Entry) ([]Chunk, error) {
	if e.Type != File {
		return nil, fmt.Errorf("read chunks of %q: a %s has no chunks: %w", e.Name, e.Type, ErrInvalid)
	}
	chunks, err := loadChunks(ctx, l, e)
	if err != nil {
		return nil, fmt.Errorf("read chunks of %q: %w", e.Name, err)
	}
	var sum uint64
	for _, c := range chunks {
		sum += uint64(c.Size)
	}
	if sum != e.Size {
		return nil, fmt.Errorf("read chunks of %q: chunks hold %d bytes, size is %d: %w", e.Name, sum, e.Size, ErrCorrupt)
	}
	if got := ContentRoot(chunks); got != e.Content {
		return nil, fmt.Errorf("read chunks of %q: content root %s, want %s: %w", e.Name, got, e.Content, ErrCorrupt)
	}
	return chunks, nil
}

// loadChunks gathers the chunks. It stops as soon as they hold more than e.Size bytes,
// so a hostile list cannot make it allocate more than the file's size in chunks.
func loadChunks(ctx context.Context, l BlobLoader, e *Entry) ([]Chunk, error) {
	if len(e.Lists) == 0 {
		return slices.Clone(e.Chunks), nil
	}
	if len(e.Chunks) > 0 {
		return nil, fmt.Errorf("both inline chunks and chunk lists: %w", ErrCorrupt)
	}
	var chunks []Chunk
	var sum uint64
	for i, id := range e.Lists {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		b, err := l.LoadTree(ctx, id)
		if err != nil {
			return nil, fmt.Errorf("load chunk list %d (%s): %w", i, id, err)
		}
		cs, err := DecodeChunkList(b)
		if err != nil {
			return nil, fmt.Errorf("chunk list %d (%s): %w", i, id, err)
		}
		prev := sum
		for _, c := range cs {
			sum += uint64(c.Size)
		}
		if sum > e.Size || sum < prev {
			return nil, fmt.Errorf("chunk list %d (%s): chunks pass the size %d: %w", i, id, e.Size, ErrCorrupt)
		}
		chunks = append(chunks, cs...)
	}
	return chunks, nil
}

// ListKey names a file's chunk lists: files with the same key have the same chunks, so
// a walk reads the lists of each key once.
func ListKey(e *Entry) digest.ID {
	h := sha256.New()
	h.Write(e.Content[:])
	for _, id := range e.Lists {
		h.Write(id[:])
	}
	var k digest.ID
	h.Sum(k[:0])
	return k
}
