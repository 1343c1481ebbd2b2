package retry

import (
	"context"
	"fmt"
	"time"

	"github.com/cairn-backup/cairn/remote"
)

var _ remote.Locker = (*Store)(nil)

// locker returns the inner store's locks, or an error wrapping remote.ErrNoLock.
func (s *Store) locker() (remote.Locker, error) {
	l, ok := s.Storage.(remote.Locker)
	if !ok {
		return nil, fmt.Errorf("%w: %s cannot lock objects", remote.ErrNoLock, s.Location())
	}
	return l, nil
}

// CheckLock asks the inner store, retrying; see remote.Locker.
func (s *Store) CheckLock(ctx context.Context) error {
	l, err := s.locker()
	if err != nil {
		return err
	}
	return s.do(ctx, "check object lock", l.CheckLock)
}

// LockWrites passes the lock on to the inner store; a store that cannot lock ignores it.
func (s *Store) LockWrites(mode remote.LockMode, d time.Duration, types ...remote.Type) {
	if l, err := s.locker(); err == nil {
		l.LockWrites(mode, d, types...)
	}
}

// Retention reads an object's lock, retrying.
func (s *Store) Retention(ctx context.Context, h remote.Handle) (remote.Retention, error) {
	l, err := s.locker()
	if err != nil {
		return remote.Retention{}, err
	}
	var r remote.Retention
	err = s.do(ctx, "read lock of "+h.String(), func(ctx context.Context) error {
		var err error
		r, err = l.Retention(ctx, h)
		return err
	})
	return r, err
}

// Retain sets an object's lock, retrying (setting it twice is harmless).
func (s *Store) Retain(ctx context.Context, h remote.Handle, r remote.Retention) error {
	l, err := s.locker()
	if err != nil {
		return err
	}
	return s.do(ctx, "lock "+h.String(), func(ctx context.Context) error { return l.Retain(ctx, h, r) })
}

var _ remote.Unhider = (*Store)(nil)

// Hidden returns what the inner store has seen through (none if it cannot).
func (s *Store) Hidden() []remote.Hidden {
	if u, ok := s.Storage.(remote.Unhider); ok {
		return u.Hidden()
	}
	return nil
}

// Unhide removes the markers over h, retrying (a marker already gone is no error).
func (s *Store) Unhide(ctx context.Context, h remote.Hidden) error {
	u, ok := s.Storage.(remote.Unhider)
	if !ok {
		return fmt.Errorf("%s has no delete markers to remove", s.Location())
	}
	return s.do(ctx, "remove markers over "+h.Handle.String(), func(ctx context.Context) error { return u.Unhide(ctx, h) })
}
