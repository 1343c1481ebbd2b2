package repo

import (
	"context"
	"errors"
	"fmt"
	"sync"

	"github.com/cairn-backup/cairn/internal/digest"
	"github.com/cairn-backup/cairn/internal/index"
	"github.com/cairn-backup/cairn/internal/pack"
	"github.com/cairn-backup/cairn/remote"
	"golang.org/x/sync/errgroup"
)

// Reading packs' own headers: how `cairn repair index` rebuilds the index, and how a
// reader finds the blobs of an index segment it could not read.

// ReadPackHeader reads the header of pack id, size bytes long as listed, with one
// ranged read of its tail (two when its header is larger than the first read), and
// returns the pack as an index entry. A header that does not open or parse fails with
// a damage error (IsDamage); a pack gone from the storage with ErrPackMissing.
func (r *Repo) ReadPackHeader(ctx context.Context, id digest.ID, size int64) (index.Pack, error) {
	p := index.Pack{ID: id, Size: uint64(max(size, 0))}
	var tail []byte // ParseTail first checks the size and says how much to read
	for range 3 {
		entries, need, err := pack.ParseTail(r.key, r.cfg.ID, tail, size)
		if err != nil {
			return p, fmt.Errorf("pack %s: %w", id.Short(), err)
		}
		if need == 0 {
			p.Blobs = toIndexBlobs(entries)
			return p, nil
		}
		if tail, err = r.readTail(ctx, id, size, need); err != nil {
			return p, err
		}
	}
	return p, fmt.Errorf("pack %s: header larger than its length field says: %w", id.Short(), pack.ErrCorrupt)
}

func (r *Repo) readTail(ctx context.Context, id digest.ID, size, n int64) ([]byte, error) {
	h := remote.Handle{Type: remote.Data, Name: id.String()}
	tail, err := remote.ReadAll(ctx, r.store, h, size-n, n, pack.MaxPackSize)
	if errors.Is(err, remote.ErrNotFound) {
		return nil, fmt.Errorf("read pack %s: %w", id.Short(), ErrPackMissing)
	}
	if err != nil {
		return nil, fmt.Errorf("read pack %s header: %w", id.Short(), err)
	}
	if int64(len(tail)) != n { // the pack is shorter than listed
		return nil, fmt.Errorf("pack %s: %d bytes at its end, want %d: %w", id.Short(), len(tail), n, pack.ErrCorrupt)
	}
	return tail, nil
}

// headerReaders bounds the pack headers read at once.
const headerReaders = 8

// PackHeader is what ReadPackHeaders found in one pack: its blobs, or why its header
// could not be read (a damage error, or ErrPackMissing when it went meanwhile).
type PackHeader struct {
	ID    digest.ID
	Size  int64
	Blobs int // how many blobs the header lists
	Err   error
	pack  index.Pack
}

// ReadPackHeaders reads the headers of the packs sizes names, headerReaders at once,
// and calls fn with each result (from one goroutine at a time). Damage and packs gone
// meanwhile are results; any other error (the storage unreachable) stops it.
func (r *Repo) ReadPackHeaders(ctx context.Context, sizes map[digest.ID]int64, fn func(PackHeader)) error {
	var mu sync.Mutex
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(headerReaders)
	for id, size := range sizes {
		g.Go(func() error {
			p, err := r.ReadPackHeader(gctx, id, size)
			if err != nil && !IsDamage(err) && !errors.Is(err, ErrPackMissing) {
				return err
			}
			mu.Lock()
			defer mu.Unlock()
			fn(PackHeader{ID: id, Size: size, Blobs: len(p.Blobs), Err: err, pack: p})
			return nil
		})
	}
	return g.Wait()
}
