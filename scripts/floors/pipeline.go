package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"sync"
	"sync/atomic"

	"github.com/cairn-backup/cairn/internal/crypto"
	"github.com/cairn-backup/cairn/internal/digest"
	"github.com/cairn-backup/cairn/internal/pack"
	"github.com/cairn-backup/cairn/internal/repo"
	"github.com/restic/chunker"
	"golang.org/x/sync/errgroup"
)

// sealer is one core's share of the pipeline: its chunker, buffer and open pack.
type sealer struct {
	key   *crypto.Key
	level pack.Compression
	w     *pack.Writer
	ch    *chunker.Chunker
	buf   []byte
	out   counter // where the sealed packs go
}

// counter counts the bytes written to it and keeps none.
type counter struct{ n int64 }

func (c *counter) Write(p []byte) (int, error) { c.n += int64(len(p)); return len(p), nil }

// pipeline reads every regular file under roots and does to its bytes what an initial
// backup must: cut them with cairn's chunk bounds (files under the minimum whole),
// hash every chunk, and compress and seal each new one into packs of the default
// size, streamed and discarded, with pack.Writer (cairn's own code), on every core.
func pipeline(ctx context.Context, roots []string, level string) ([]string, error) {
	c, err := repo.ParseCompression(level)
	if err != nil {
		return nil, err
	}
	key, err := crypto.NewRandomKey(crypto.XAES256GCM)
	if err != nil {
		return nil, err
	}
	pol, err := chunker.RandomPolynomial()
	if err != nil {
		return nil, err
	}
	var files []string
	for _, r := range roots {
		err := filepath.WalkDir(r, func(p string, d fs.DirEntry, err error) error {
			if err == nil && d.Type().IsRegular() {
				files = append(files, p)
			}
			return err
		})
		if err != nil {
			return nil, err
		}
	}
	var read, stored atomic.Int64
	var seen sync.Map
	next := make(chan string)
	g, gctx := errgroup.WithContext(ctx)
	g.Go(func() error {
		defer close(next)
		for _, f := range files {
			select {
			case next <- f:
			case <-gctx.Done():
				return gctx.Err()
			}
		}
		return nil
	})
	for range runtime.GOMAXPROCS(0) {
		s := &sealer{key: key, level: c, buf: make([]byte, repo.DefaultMaxChunk)}
		g.Go(func() error {
			for f := range next {
				n, err := s.file(f, pol, &seen, &stored)
				read.Add(n)
				if err != nil {
					return err
				}
			}
			return s.seal(&stored)
		})
	}
	if err := g.Wait(); err != nil {
		return nil, err
	}
	return []string{fmt.Sprintf("files %d", len(files)), fmt.Sprintf("bytes_read %d", read.Load()),
		fmt.Sprintf("bytes_stored %d", stored.Load())}, nil
}

// file cuts one file into chunks and adds the new ones; it returns the bytes read.
func (s *sealer) file(path string, pol chunker.Pol, seen *sync.Map, stored *atomic.Int64) (int64, error) {
	f, err := os.Open(path)
	if err != nil {
		return 0, err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return 0, err
	}
	if fi.Size() < repo.DefaultMinChunk { // read whole, as cairn's backup reads small files
		n, err := io.ReadFull(f, s.buf[:fi.Size()])
		if err != nil {
			return int64(n), fmt.Errorf("read %s: %w", path, err)
		}
		return int64(n), s.add(s.buf[:n], seen, stored)
	}
	if s.ch == nil {
		s.ch = chunker.NewWithBoundaries(f, pol, repo.DefaultMinChunk, repo.DefaultMaxChunk)
	} else {
		s.ch.ResetWithBoundaries(f, pol, repo.DefaultMinChunk, repo.DefaultMaxChunk)
	}
	var n int64
	for {
		c, err := s.ch.Next(s.buf)
		if errors.Is(err, io.EOF) {
			return n, nil
		}
		if err != nil {
			return n, fmt.Errorf("read %s: %w", path, err)
		}
		n += int64(c.Length)
		if err := s.add(c.Data, seen, stored); err != nil {
			return n, err
		}
	}
}

// add hashes a chunk and, when no worker has seen it, compresses and seals it into
// the open pack, sealing the pack once it reaches the default pack size.
func (s *sealer) add(data []byte, seen *sync.Map, stored *atomic.Int64) error {
	id := digest.Of(data)
	if _, dup := seen.LoadOrStore(id, struct{}{}); dup {
		return nil
	}
	if s.w == nil { // streamed, as cairn streams a pack to its temporary file: sealed and hashed, not kept
		s.w = pack.NewStreamWriter(s.key, digest.ID{}, s.level, &s.out)
	}
	if _, err := s.w.Add(pack.Data, id, data); err != nil {
		return err
	}
	if s.w.Size() >= repo.DefaultPackSize {
		return s.seal(stored)
	}
	return nil
}

// seal finishes the open pack, if any, and counts its bytes.
func (s *sealer) seal(stored *atomic.Int64) error {
	if s.w == nil {
		return nil
	}
	_, _, _, err := s.w.Finish()
	s.w = nil
	stored.Add(s.out.n)
	s.out.n = 0
	return err
}
