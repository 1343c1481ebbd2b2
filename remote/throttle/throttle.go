// Package throttle decorates a remote.Storage with bandwidth limits: the bytes of
// object bodies uploaded and of objects downloaded pass through token buckets shared
// by every request of the store (restic's --limit-upload and --limit-download).
package throttle

import (
	"context"
	"io"
	"sync"

	"github.com/cairn-backup/cairn/remote"
)

// Store limits the transfers of the storage it embeds. It is no remote.FileTaker,
// whatever the inner store is: a file taken by rename was written before the limit
// could meter it, so every pack comes through Put.
type Store struct {
	remote.Storage
	up, down *Bucket // nil: no limit that way
}

var (
	_ remote.Storage      = (*Store)(nil)
	_ remote.Confirmer    = (*Store)(nil)
	_ remote.BatchDeleter = (*Store)(nil)
)

// New wraps inner with limits in bytes per second; 0 leaves a direction unlimited.
// With neither limit set it returns inner itself.
func New(inner remote.Storage, upload, download int64) remote.Storage {
	if upload <= 0 && download <= 0 {
		return inner
	}
	s := &Store{Storage: inner}
	if upload > 0 {
		s.up = NewBucket(upload)
	}
	if download > 0 {
		s.down = NewBucket(download)
	}
	return s
}

// Put uploads the body at the upload rate.
func (s *Store) Put(ctx context.Context, h remote.Handle, body remote.Body) error {
	return s.Storage.Put(ctx, h, s.body(ctx, body))
}

// PutUnconfirmed puts through the inner store's PutUnconfirmed, or its Put when it
// checks every Put itself (see remote.Confirmer).
func (s *Store) PutUnconfirmed(ctx context.Context, h remote.Handle, body remote.Body) (remote.Sent, error) {
	c, ok := s.Storage.(remote.Confirmer)
	if !ok {
		return remote.Sent{Handle: h, Size: body.Size()}, s.Put(ctx, h, body)
	}
	return c.PutUnconfirmed(ctx, h, s.body(ctx, body))
}

// Confirm passes to the inner store; see remote.Confirmer.
func (s *Store) Confirm(ctx context.Context, objs []remote.Sent) ([]remote.Sent, error) {
	c, ok := s.Storage.(remote.Confirmer)
	if !ok {
		return nil, nil // every object was checked by its Put
	}
	return c.Confirm(ctx, objs)
}

// DeleteMany passes to the inner store's batches where it has them.
func (s *Store) DeleteMany(ctx context.Context, t remote.Type, names []string) error {
	if b, ok := s.Storage.(remote.BatchDeleter); ok {
		return b.DeleteMany(ctx, t, names)
	}
	return remote.DeleteEach(ctx, s.Storage, t, names)
}

// Get downloads at the download rate.
func (s *Store) Get(ctx context.Context, h remote.Handle, offset, length int64) (io.ReadCloser, error) {
	rc, err := s.Storage.Get(ctx, h, offset, length)
	if err != nil || s.down == nil {
		return rc, err
	}
	return &reader{rc: rc, b: s.down, ctx: ctx}, nil
}

func (s *Store) body(ctx context.Context, body remote.Body) remote.Body {
	if s.up == nil {
		return body
	}
	return &limitedBody{Body: body, b: s.up, ctx: ctx}
}

// limitedBody takes tokens for every byte of the body read for the first time: a
// backend that reads a body twice (a checksum, then the request) or a retry pays
// once, and the rate holds averaged over each object.
type limitedBody struct {
	remote.Body
	b    *Bucket
	ctx  context.Context
	mu   sync.Mutex
	paid int64 // bytes [0, paid) have been paid for
}

// ReadAt fills p in steps, waiting for each step's tokens, so that a large read is
// spread over time rather than let through in one burst.
func (l *limitedBody) ReadAt(p []byte, off int64) (int, error) {
	done := 0
	for done < len(p) {
		step := min(len(p)-done, maxStep)
		n, err := l.Body.ReadAt(p[done:done+step], off+int64(done))
		if werr := l.b.Wait(l.ctx, l.owed(off+int64(done), n)); werr != nil {
			return done, werr
		}
		done += n
		if err != nil {
			return done, err
		}
	}
	return done, nil
}

// owed returns how many of the n bytes read at off were not paid for yet.
func (l *limitedBody) owed(off int64, n int) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	end := off + int64(n)
	if end <= l.paid {
		return 0
	}
	owed := end - max(off, l.paid)
	l.paid = end
	return int(owed)
}

// reader takes tokens for every byte read through it.
type reader struct {
	rc  io.ReadCloser
	b   *Bucket
	ctx context.Context
}

func (r *reader) Read(p []byte) (int, error) {
	if len(p) > maxStep {
		p = p[:maxStep]
	}
	n, err := r.rc.Read(p)
	if werr := r.b.Wait(r.ctx, n); werr != nil {
		return n, werr
	}
	return n, err
}

func (r *reader) Close() error { return r.rc.Close() }
