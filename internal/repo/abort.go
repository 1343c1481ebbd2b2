package repo

import (
	"context"

	"golang.org/x/sync/errgroup"
)

// Abort ends a session that failed or was interrupted: it waits for uploads in flight
// and indexes every pack that made it, so that the next run reuses them; ctx should be
// a fresh one, as the session's has usually ended. Open packs that were never uploaded
// are dropped.
func (s *Writer) Abort(ctx context.Context) error {
	s.mu.Lock()
	g := s.g
	s.mu.Unlock()
	if g != nil {
		_ = g.Wait()
	}
	for _, pool := range s.pools {
		for _, op := range pool.drain() {
			op.discard()
		}
	}
	s.mu.Lock()
	s.g, s.err = nil, nil
	s.mu.Unlock()
	err := s.settle(ctx)
	s.mu.Lock()
	s.inflight = map[blobKey]struct{}{}
	s.mu.Unlock()
	return err
}

// Keep ends an interrupted session without losing its work, where Abort drops the
// open packs: it waits for the uploads in flight, uploads the packs still open, and
// indexes every pack that made it, all under ctx, a fresh context (the session's has
// ended). Call it once every SaveBlob has returned, so the open packs hold whole
// blobs. The next run then stores none of it again.
func (s *Writer) Keep(ctx context.Context) error {
	s.mu.Lock()
	g := s.g
	s.mu.Unlock()
	if g != nil {
		_ = g.Wait()
	}
	s.mu.Lock()
	s.g, s.err = nil, nil
	s.mu.Unlock()
	kg, kctx := errgroup.WithContext(ctx)
	kg.SetLimit(s.uploads)
	for _, pool := range s.pools {
		for _, op := range pool.drain() {
			kg.Go(func() error { return s.upload(kctx, op) })
		}
	}
	err := kg.Wait()
	if serr := s.settle(ctx); err == nil {
		err = serr
	}
	s.mu.Lock()
	s.inflight = map[blobKey]struct{}{}
	s.mu.Unlock()
	return err
}
