// Package retry decorates a remote.Storage with retries bounded by a time budget of
// minutes, above the short retries of the S3 client: exponential, jittered backoff;
// a server's Retry-After honoured; fewer requests in parallel while the server asks to
// slow down; permanent errors returned at once. Bodies are remote.Body, readable any
// number of times, so every Put can be repeated.
package retry

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"time"

	"github.com/cairn-backup/cairn/remote"
)

// Defaults of Options.
const (
	DefaultBudget      = 5 * time.Minute
	DefaultMaxParallel = 32
	DefaultBaseDelay   = time.Second
	DefaultMaxDelay    = time.Minute
)

// Options tune a Store. The zero value retries nothing (Budget 0).
type Options struct {
	// Budget is how long one operation may keep failing before the last error is
	// returned, "gave up after …". Zero or less: one attempt, no retry.
	Budget time.Duration
	// MaxParallel caps the adaptive limit of requests in flight (DefaultMaxParallel).
	MaxParallel int
	// BaseDelay and MaxDelay shape the backoff: the n-th wait is about
	// BaseDelay·2ⁿ⁻¹, at most MaxDelay, jittered down by up to half.
	BaseDelay, MaxDelay time.Duration
	// Clock tells time and sleeps; nil is the real clock. Tests inject a fake one.
	Clock Clock
}

// Clock is the time source of the retries.
type Clock interface {
	Now() time.Time
	// Sleep waits d, or returns ctx's error when ctx ends first.
	Sleep(ctx context.Context, d time.Duration) error
}

// Store retries the operations of the storage it embeds.
type Store struct {
	remote.Storage
	opts  Options
	clock Clock
	lim   *limiter
}

var (
	_ remote.Storage   = (*Store)(nil)
	_ remote.Confirmer = (*Store)(nil)
)

// New wraps inner.
func New(inner remote.Storage, opts Options) *Store {
	if opts.MaxParallel <= 0 {
		opts.MaxParallel = DefaultMaxParallel
	}
	if opts.BaseDelay <= 0 {
		opts.BaseDelay = DefaultBaseDelay
	}
	if opts.MaxDelay <= 0 {
		opts.MaxDelay = DefaultMaxDelay
	}
	clock := opts.Clock
	if clock == nil {
		clock = realClock{}
	}
	return &Store{Storage: inner, opts: opts, clock: clock, lim: newLimiter(opts.MaxParallel)}
}

// Limit returns the current limit of requests in flight (for tests and progress).
func (s *Store) Limit() int { return s.lim.current() }

// permanent are the errors no retry can cure.
var permanent = []error{remote.ErrNotFound, remote.ErrInvalidRange, remote.ErrInvalidHandle,
	remote.ErrPermission, remote.ErrNoBucket, remote.ErrFull, remote.ErrTLS, remote.ErrLocked}

// Permanent reports whether err is one that retrying cannot cure.
func Permanent(err error) bool {
	for _, p := range permanent {
		if errors.Is(err, p) {
			return true
		}
	}
	var f *final
	return errors.As(err, &f)
}

// final marks an error the decorator must not retry, for reasons of its own (a
// listing that already reported objects).
type final struct{ error }

func (f *final) Unwrap() error { return f.error }

// retryAfter is implemented by errors that carry a server's Retry-After (remote/s3
// returns such errors).
type retryAfter interface{ RetryAfter() time.Duration }

// do runs fn until it succeeds, fails for good, or the budget is spent.
func (s *Store) do(ctx context.Context, fn func(context.Context) error) error {
	return s.run(ctx, s.clock.Now(), 0, fn)
}

// run is do for an episode that began at start after fails failed attempts.
func (s *Store) run(ctx context.Context, start time.Time, fails int, fn func(context.Context) error) error {
	for {
		err := s.attempt(ctx, fn)
		if err == nil || ctx.Err() != nil || Permanent(err) {
			var f *final
			if errors.As(err, &f) {
				return f.error
			}
			return err
		}
		fails++
		if err := s.pause(ctx, start, fails, err); err != nil {
			return err
		}
	}
}

// attempt runs fn once inside the parallel limit.
func (s *Store) attempt(ctx context.Context, fn func(context.Context) error) error {
	epoch, err := s.lim.acquire(ctx)
	if err != nil {
		return err
	}
	err = fn(ctx)
	s.lim.release(epoch, errors.Is(err, remote.ErrSlowDown))
	return err
}

// pause waits before the next attempt after the fails-th failure, err, or returns the
// error to give up with: the budget is spent, the server wants a wait beyond it, or
// ctx ended.
func (s *Store) pause(ctx context.Context, start time.Time, fails int, err error) error {
	if s.opts.Budget <= 0 {
		return err
	}
	elapsed := s.clock.Now().Sub(start)
	left := s.opts.Budget - elapsed
	wait := s.backoff(fails)
	var ra retryAfter
	if errors.As(err, &ra) {
		if ra.RetryAfter() > left {
			return fmt.Errorf("gave up after %s and %d attempts (the server asks for a wait of %s): %w",
				round(elapsed), fails, ra.RetryAfter(), err)
		}
		wait = max(wait, ra.RetryAfter())
	}
	if left <= 0 {
		return fmt.Errorf("gave up after %s and %d attempts: %w", round(elapsed), fails, err)
	}
	if serr := s.clock.Sleep(ctx, min(wait, left)); serr != nil {
		return fmt.Errorf("%w (while retrying after: %v)", serr, err)
	}
	return nil
}

// backoff is the wait after the fails-th failure: exponential, capped, with "equal
// jitter" (half fixed, half random) so that clients that failed together spread out.
func (s *Store) backoff(fails int) time.Duration {
	d := s.opts.MaxDelay
	if shift := fails - 1; shift < 30 {
		d = min(d, s.opts.BaseDelay<<shift)
	}
	return d/2 + time.Duration(rand.Float64()*float64(d/2))
}

func round(d time.Duration) time.Duration {
	if d >= time.Second {
		return d.Round(time.Second)
	}
	return d.Round(time.Millisecond)
}

// Put stores the body, again after a failure: the body reads from its start each time.
func (s *Store) Put(ctx context.Context, h remote.Handle, body remote.Body) error {
	return s.do(ctx, func(ctx context.Context) error { return s.Storage.Put(ctx, h, body) })
}

// PutUnconfirmed puts through the inner store's PutUnconfirmed, retrying; a store
// that checks each Put itself is put with Put, and its object needs no Confirm.
func (s *Store) PutUnconfirmed(ctx context.Context, h remote.Handle, body remote.Body) (remote.Sent, error) {
	c, ok := s.Storage.(remote.Confirmer)
	if !ok {
		return remote.Sent{Handle: h, Size: body.Size()}, s.Put(ctx, h, body)
	}
	var sent remote.Sent
	err := s.do(ctx, func(ctx context.Context) error {
		var err error
		sent, err = c.PutUnconfirmed(ctx, h, body)
		return err
	})
	return sent, err
}

// Confirm retries a failed check; see remote.Confirmer.
func (s *Store) Confirm(ctx context.Context, objs []remote.Sent) ([]remote.Sent, error) {
	c, ok := s.Storage.(remote.Confirmer)
	if !ok {
		return nil, nil // every object was checked by its Put
	}
	var bad []remote.Sent
	err := s.do(ctx, func(ctx context.Context) error {
		var err error
		bad, err = c.Confirm(ctx, objs)
		return err
	})
	return bad, err
}

// Stat returns the object's size.
func (s *Store) Stat(ctx context.Context, h remote.Handle) (remote.Info, error) {
	var info remote.Info
	err := s.do(ctx, func(ctx context.Context) error {
		var err error
		info, err = s.Storage.Stat(ctx, h)
		return err
	})
	return info, err
}

// Delete removes the object.
func (s *Store) Delete(ctx context.Context, h remote.Handle) error {
	return s.do(ctx, func(ctx context.Context) error { return s.Storage.Delete(ctx, h) })
}

// DeleteMany deletes in batches where the inner store can, retrying each batch as a
// whole (deleting twice is harmless); otherwise one retried Delete each.
func (s *Store) DeleteMany(ctx context.Context, t remote.Type, names []string) error {
	b, ok := s.Storage.(remote.BatchDeleter)
	if !ok {
		return remote.DeleteEach(ctx, s, t, names)
	}
	return s.do(ctx, func(ctx context.Context) error { return b.DeleteMany(ctx, t, names) })
}

// List retries a listing that failed before it reported any object. Once fn has seen
// objects, a failure is returned as it is: a repeated listing would report them twice.
func (s *Store) List(ctx context.Context, t remote.Type, fn func(remote.Info) error) error {
	var fnErr error
	delivered := false
	err := s.do(ctx, func(ctx context.Context) error {
		err := s.Storage.List(ctx, t, func(info remote.Info) error {
			delivered = true
			fnErr = fn(info)
			return fnErr
		})
		if err != nil && (fnErr != nil || delivered) {
			return &final{err}
		}
		return err
	})
	if fnErr != nil {
		return fnErr
	}
	return err
}

// Get opens the range, retrying; a body that fails part way is resumed from where it
// broke (see resumer).
func (s *Store) Get(ctx context.Context, h remote.Handle, offset, length int64) (io.ReadCloser, error) {
	var rc io.ReadCloser
	err := s.do(ctx, func(ctx context.Context) error {
		var err error
		rc, err = s.Storage.Get(ctx, h, offset, length)
		return err
	})
	if err != nil {
		return nil, err
	}
	return &resumer{s: s, ctx: ctx, h: h, offset: offset, length: length, rc: rc}, nil
}

// realClock is the system's clock.
type realClock struct{}

func (realClock) Now() time.Time { return time.Now() }

func (realClock) Sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
