package dump

import (
	"context"
	"fmt"
	"io"
	"sync"

	"github.com/cairn-backup/cairn/internal/digest"
	"github.com/cairn-backup/cairn/internal/repo"
	"github.com/cairn-backup/cairn/manifest"
)

// DefaultWindow is the plaintext bytes of one file read ahead at a time: the memory a
// dump holds whatever the file's size.
const DefaultWindow = 32 << 20

// content streams file contents: the chunks of a window are read with ReadBlobs
// (grouped by pack, several packs at once) and written in file order.
type content struct {
	r       *repo.Repo
	window  int64
	workers int
	zeros   map[uint32]digest.ID
}

// copyFile writes the content of the file entry e to w and returns the bytes written.
func (c *content) copyFile(ctx context.Context, e *manifest.Entry, w io.Writer) (int64, error) {
	chunks, err := manifest.ReadChunks(ctx, c.r, e)
	if err != nil {
		return 0, err
	}
	var written int64
	for start := 0; start < len(chunks); {
		end, n := start, int64(0)
		for end < len(chunks) && (end == start || n+int64(chunks[end].Size) <= c.window) {
			n += int64(chunks[end].Size)
			end++
		}
		k, err := c.window1(ctx, e, chunks[start:end], written, w)
		written += k
		if err != nil {
			return written, err
		}
		start = end
	}
	return written, nil
}

// window1 reads one window of chunks (each distinct blob once) and writes them in order.
func (c *content) window1(ctx context.Context, e *manifest.Entry, chunks []manifest.Chunk, off int64, w io.Writer) (int64, error) {
	var blobs []repo.Blob
	want := map[digest.ID]bool{}
	for _, ch := range chunks {
		if want[ch.ID] || c.hole(e, ch) {
			continue
		}
		b, ok := c.r.Lookup(repo.DataBlob, ch.ID)
		if !ok {
			return 0, fmt.Errorf("chunk %s of %q: %w", ch.ID.Short(), e.Name, repo.ErrBlobNotFound)
		}
		want[ch.ID] = true
		blobs = append(blobs, b)
	}
	var mu sync.Mutex
	got := make(map[digest.ID][]byte, len(blobs))
	err := c.r.ReadBlobs(ctx, blobs, repo.ReadOptions{Workers: c.workers}, func(b repo.Blob, sealed []byte, err error) error {
		if err != nil {
			return fmt.Errorf("chunk %s of %q: %w", b.ID.Short(), e.Name, err)
		}
		plain, err := c.r.OpenSealed(b, sealed, nil)
		if err != nil {
			return fmt.Errorf("chunk %s of %q: %w", b.ID.Short(), e.Name, err)
		}
		mu.Lock()
		got[b.ID] = plain
		mu.Unlock()
		return nil
	})
	if err != nil {
		return 0, err
	}
	var written int64
	for _, ch := range chunks {
		data, ok := got[ch.ID]
		if !ok { // a hole of a sparse file
			data = make([]byte, ch.Size)
		}
		if len(data) != int(ch.Size) {
			return written, fmt.Errorf("chunk %s of %q at offset %d: %d bytes, want %d: %w",
				ch.ID.Short(), e.Name, off+written, len(data), ch.Size, repo.ErrCorrupt)
		}
		n, err := w.Write(data)
		written += int64(n)
		if err != nil {
			return written, err
		}
	}
	return written, nil
}

// hole reports whether ch is a run of zeros of a sparse file, which backup does not store.
func (c *content) hole(e *manifest.Entry, ch manifest.Chunk) bool {
	if !e.Sparse {
		return false
	}
	id, ok := c.zeros[ch.Size]
	if !ok {
		id = digest.Of(make([]byte, ch.Size))
		c.zeros[ch.Size] = id
	}
	if id != ch.ID {
		return false
	}
	_, stored := c.r.Lookup(repo.DataBlob, ch.ID)
	return !stored
}
