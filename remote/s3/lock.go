package s3

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/minio/minio-go/v7"

	"github.com/cairn-backup/cairn/remote"
)

var _ remote.Locker = (*Store)(nil)

// writeLock is the lock every Put of one of its types carries (LockWrites).
type writeLock struct {
	mu    sync.RWMutex
	mode  remote.LockMode
	d     time.Duration
	types map[remote.Type]bool
}

// options returns the lock of an object of type t, if writes of t are locked.
func (w *writeLock) options(t remote.Type) (minio.RetentionMode, time.Time) {
	w.mu.RLock()
	defer w.mu.RUnlock()
	if w.d <= 0 || !w.types[t] {
		return "", time.Time{}
	}
	// Whole seconds, rounded up: S3 keeps retention dates to the second.
	return retentionMode(w.mode), time.Now().Add(w.d + time.Second).UTC().Truncate(time.Second)
}

// LockWrites makes later Puts of objects of the types locked d past the write (see
// remote.Locker).
func (s *Store) LockWrites(mode remote.LockMode, d time.Duration, types ...remote.Type) {
	s.locks.mu.Lock()
	defer s.locks.mu.Unlock()
	s.locks.mode, s.locks.d = mode, d
	s.locks.types = map[remote.Type]bool{}
	for _, t := range types {
		s.locks.types[t] = true
	}
}

// CheckLock fails wrapping remote.ErrNoLock unless the bucket has Object Lock enabled.
func (s *Store) CheckLock(ctx context.Context) error {
	ctx, hn := withHint(ctx)
	enabled, _, _, _, err := s.client.GetObjectLockConfig(ctx, s.ep.bucket)
	if err != nil {
		var resp minio.ErrorResponse
		if errors.As(err, &resp) && resp.Code == "ObjectLockConfigurationNotFoundError" {
			return fmt.Errorf("%w: bucket %s was made without Object Lock (it can only be enabled when a bucket is made; use a new bucket)", remote.ErrNoLock, s.ep.bucket)
		}
		if errors.As(err, &resp) && resp.StatusCode == 501 {
			return fmt.Errorf("%w: the server does not support Object Lock: %v", remote.ErrNoLock, err)
		}
		return fmt.Errorf("object lock of bucket %s: %w", s.ep.bucket, s.translate(ctx, err, hn))
	}
	if enabled != "Enabled" {
		return fmt.Errorf("%w: bucket %s has Object Lock %q", remote.ErrNoLock, s.ep.bucket, enabled)
	}
	return nil
}

// Retention returns the lock of the object's current version.
func (s *Store) Retention(ctx context.Context, h remote.Handle) (remote.Retention, error) {
	if err := s.check(ctx, h); err != nil {
		return remote.Retention{}, fmt.Errorf("retention %s: %w", h, err)
	}
	version, err := s.hiddenVersion(ctx, h)
	if err != nil {
		return remote.Retention{}, fmt.Errorf("retention %s: %w", h, err)
	}
	return s.retention(ctx, h, version) // none: an object written without a lock
}

// Retain sets the object's lock (PutObjectRetention).
func (s *Store) Retain(ctx context.Context, h remote.Handle, r remote.Retention) error {
	if err := s.check(ctx, h); err != nil {
		return fmt.Errorf("retain %s: %w", h, err)
	}
	ctx, hn := withHint(ctx)
	mode := retentionMode(r.Mode)
	until := r.Until.UTC()
	err := s.client.PutObjectRetention(ctx, s.ep.bucket, s.key(h), minio.PutObjectRetentionOptions{
		Mode: &mode, RetainUntilDate: &until,
	})
	var resp minio.ErrorResponse
	if errors.As(err, &resp) && resp.StatusCode == 400 && resp.Code == "InvalidRequest" {
		// The answer to a lock that would shorten the current one, or weaken compliance
		// (MinIO: "Object is WORM protected"): no retry changes it.
		return fmt.Errorf("retain %s until %s: %w: %v", h, until.Format(time.RFC3339), remote.ErrLocked, err)
	}
	if err != nil {
		return fmt.Errorf("retain %s until %s: %w", h, until.Format(time.RFC3339), s.translate(ctx, err, hn))
	}
	return nil
}

func retentionMode(m remote.LockMode) minio.RetentionMode {
	if m == remote.Compliance {
		return minio.Compliance
	}
	return minio.Governance
}
