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
	// Notify, when set, is told of each failed attempt that will be retried, before
	// the wait: a person watching a stuck run sees why at once. It may be called from
	// many goroutines at once.
	Notify func(Attempt)
}

// Attempt is a failed attempt that will be retried.
type Attempt struct {
	Op     string        // what failed: "put data/1f2e…", "stat config"
	Failed int           // attempts failed so far in this episode
	Wait   time.Duration // the wait before the next one
	Err    error
}

// MaxUnreachable is how many attempts an operation gets while the endpoint cannot be
// reached at all (remote.ErrUnreachable: connection refused, unknown host name): a
// server that is restarting is back within them, a wrong location never is.
const MaxUnreachable = 4

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

// do runs fn, the operation op ("stat config"), until it succeeds, fails for good,
// or the budget is spent.
func (s *Store) do(ctx context.Context, op string, fn func(context.Context) error) error {
	return s.run(ctx, op, s.clock.Now(), 0, fn)
}

// run is do for an episode that began at start after fails failed attempts.
func (s *Store) run(ctx context.Context, op string, start time.Time, fails int, fn func(context.Context) error) error {
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
		if err := s.pause(ctx, op, start, fails, err); err != nil {
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
func (s *Store) pause(ctx context.Context, op string, start time.Time, fails int, err error) error {
	if s.opts.Budget <= 0 {
		return err
	}
	elapsed := s.clock.Now().Sub(start)
	if errors.Is(err, remote.ErrUnreachable) && fails >= MaxUnreachable {
		return fmt.Errorf("gave up after %d attempts in %s: %w", fails, round(elapsed), err)
	}
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
	wait = min(wait, left)
	if s.opts.Notify != nil {
		s.opts.Notify(Attempt{Op: op, Failed: fails, Wait: wait, Err: err})
	}
	if serr := s.clock.Sleep(ctx, wait); serr != nil {
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
