package verify

import (
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/cairn-backup/cairn/internal/digest"
	"github.com/cairn-backup/cairn/internal/fsys"
	"github.com/cairn-backup/cairn/internal/repo"
	"github.com/cairn-backup/cairn/manifest"
	"github.com/restic/chunker"
)

// hasher computes a live file's content root as backup would store it: chunked with
// the repository's chunker parameters and hashed, stored nowhere.
type hasher struct {
	cfg   repo.Config
	pol   chunker.Pol
	buf   []byte
	ch    *chunker.Chunker
	bytes int64 // read so far
}

func newHasher(cfg repo.Config) (*hasher, error) {
	pol, err := cfg.Pol()
	if err != nil {
		return nil, err
	}
	return &hasher{cfg: cfg, pol: pol}, nil
}

// whole reads a file of at most size bytes (it may have shrunk since).
func (h *hasher) whole(f io.Reader, size int64) ([]byte, error) {
	n, err := io.ReadFull(f, h.buf[:size])
	if errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF) {
		err = nil
	}
	return h.buf[:n], err
}

// content returns the content root of the regular file at path, of size bytes when
// it was looked at.
func (h *hasher) content(ctx context.Context, path string, size int64) (digest.ID, error) {
	f, err := fsys.OpenFile(path)
	if err != nil {
		return digest.ID{}, err
	}
	defer f.Close()
	var chunks []manifest.Chunk
	add := func(data []byte) {
		h.bytes += int64(len(data))
		chunks = append(chunks, manifest.Chunk{ID: digest.Of(data), Size: uint32(len(data))})
	}
	if h.buf == nil {
		h.buf = make([]byte, h.cfg.MaxChunk)
	}
	if size < int64(h.cfg.MinChunk) {
		// One chunk, as backup stores a file below the minimum chunk size.
		data, err := h.whole(f, size)
		if len(data) > 0 {
			add(data)
		}
		return manifest.ContentRoot(chunks), err
	}
	if h.ch == nil {
		h.ch = chunker.NewWithBoundaries(f, h.pol, h.cfg.MinChunk, h.cfg.MaxChunk)
	} else {
		h.ch.ResetWithBoundaries(f, h.pol, h.cfg.MinChunk, h.cfg.MaxChunk)
	}
	h.ch.SetAverageBits(int(h.cfg.AvgBits))
	for {
		if err := ctx.Err(); err != nil {
			return digest.ID{}, err
		}
		c, err := h.ch.Next(h.buf)
		if errors.Is(err, io.EOF) {
			return manifest.ContentRoot(chunks), nil
		}
		if err != nil {
			return digest.ID{}, fmt.Errorf("read %s: %w", path, err)
		}
		add(c.Data)
	}
}
