package retry_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cairn-backup/cairn/remote"
	"github.com/cairn-backup/cairn/remote/remotetest"
	"github.com/cairn-backup/cairn/remote/retry"
)

// fakeClock sleeps by moving its time forward, at once.
type fakeClock struct {
	mu    sync.Mutex
	now   time.Time
	slept []time.Duration
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) Sleep(ctx context.Context, d time.Duration) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
	c.slept = append(c.slept, d)
	return nil
}

func (c *fakeClock) elapsed() time.Duration {
	c.mu.Lock()
	defer c.mu.Unlock()
	var sum time.Duration
	for _, d := range c.slept {
		sum += d
	}
	return sum
}

var (
	obj  = remote.Handle{Type: remote.Data, Name: "abcdef"}
	body = []byte("0123456789abcdefghij")
)

// setup returns a faulty in-memory store holding obj, and the decorator around it.
func setup(t *testing.T, budget time.Duration) (*remotetest.Faulty, *retry.Store, *fakeClock) {
	t.Helper()
	f := remotetest.NewFaulty(remotetest.NewMem())
	if err := f.Put(t.Context(), obj, remote.Bytes(body)); err != nil {
		t.Fatal(err)
	}
	clock := &fakeClock{now: time.Unix(1e9, 0)}
	return f, retry.New(f, retry.Options{Budget: budget, Clock: clock}), clock
}

func TestTransientThenSuccess(t *testing.T) {
	for _, op := range []remotetest.Op{remotetest.OpPut, remotetest.OpGet, remotetest.OpStat, remotetest.OpList, remotetest.OpDelete} {
		t.Run(string(op), func(t *testing.T) {
			f, s, clock := setup(t, time.Minute)
			before := f.Calls(op)
			f.Add(remotetest.Fault{Op: op, Nth: 1, Repeat: 3})
			if err := call(t.Context(), s, op); err != nil {
				t.Fatalf("%s after 3 transient faults: %v", op, err)
			}
			if got := f.Calls(op) - before; got != 4 {
				t.Errorf("%s: %d calls, want 4", op, got)
			}
			if len(clock.slept) != 3 {
				t.Errorf("%s: slept %d times, want 3", op, len(clock.slept))
			}
			f.Verify(t)
		})
	}
}

// call runs op on s and checks what it returns.
func call(ctx context.Context, s remote.Storage, op remotetest.Op) error {
	switch op {
	case remotetest.OpPut:
		return s.Put(ctx, remote.Handle{Type: remote.Key, Name: "k"}, remote.Bytes(body))
	case remotetest.OpGet:
		got, err := remote.ReadAll(ctx, s, obj, 0, int64(len(body)), 1<<20)
		if err == nil && !bytes.Equal(got, body) {
			err = fmt.Errorf("read %q, want %q", got, body)
		}
		return err
	case remotetest.OpStat:
		info, err := s.Stat(ctx, obj)
		if err == nil && info.Size != int64(len(body)) {
			err = fmt.Errorf("size %d, want %d", info.Size, len(body))
		}
		return err
	case remotetest.OpList:
		n := 0
		err := s.List(ctx, remote.Data, func(remote.Info) error { n++; return nil })
		if err == nil && n != 1 {
			err = fmt.Errorf("listed %d objects, want 1", n)
		}
		return err
	default:
		return s.Delete(ctx, obj)
	}
}

func TestBudgetExhausted(t *testing.T) {
	f, s, clock := setup(t, 5*time.Minute)
	f.Add(remotetest.Fault{Op: remotetest.OpStat}) // every call
	_, err := s.Stat(t.Context(), obj)
	if !errors.Is(err, remotetest.ErrInjected) || !strings.Contains(err.Error(), "gave up after 5m0s") {
		t.Fatalf("stat: got %v, want the last error, wrapped with gave up after 5m0s", err)
	}
	if calls := f.Calls(remotetest.OpStat); calls < 5 || calls > 20 {
		t.Errorf("%d calls in a budget of 5m, want an exponential few", calls)
	}
	if clock.elapsed() != 5*time.Minute {
		t.Errorf("slept %v, want exactly the budget", clock.elapsed())
	}
	for i, d := range clock.slept[:len(clock.slept)-1] {
		if d > retry.DefaultMaxDelay {
			t.Errorf("wait %d is %v, above the cap", i, d)
		}
	}
	f.Verify(t)
}

func TestNoBudgetNoRetry(t *testing.T) {
	f, s, _ := setup(t, 0)
	f.Add(remotetest.Fault{Op: remotetest.OpStat, Nth: 1})
	if _, err := s.Stat(t.Context(), obj); !errors.Is(err, remotetest.ErrInjected) || strings.Contains(err.Error(), "gave up") {
		t.Errorf("stat: got %v, want the error as it is", err)
	}
	if n := f.Calls(remotetest.OpStat); n != 1 {
		t.Errorf("%d calls, want 1", n)
	}
}

func TestPermanentNotRetried(t *testing.T) {
	for _, perm := range []error{remote.ErrNotFound, remote.ErrInvalidRange, remote.ErrInvalidHandle,
		remote.ErrPermission, remote.ErrNoBucket, remote.ErrFull, remote.ErrTLS} {
		t.Run(perm.Error(), func(t *testing.T) {
			f, s, clock := setup(t, time.Hour)
			f.Add(remotetest.Fault{Op: remotetest.OpPut, Err: perm})
			err := s.Put(t.Context(), obj, remote.Bytes(body))
			if !errors.Is(err, perm) || strings.Contains(err.Error(), "gave up") {
				t.Errorf("put: got %v, want %v at once", err, perm)
			}
			if n := f.Calls(remotetest.OpPut); n != 2 { // the one in setup, and this one
				t.Errorf("%d puts, want 2", n-1)
			}
			if len(clock.slept) != 0 {
				t.Errorf("slept %v before giving up on a permanent error", clock.slept)
			}
			f.Verify(t)
		})
	}
}

func TestCancelledNotRetried(t *testing.T) {
	f, s, _ := setup(t, time.Hour)
	f.Add(remotetest.Fault{Op: remotetest.OpStat, Kind: remotetest.Hang})
	ctx, cancel := context.WithTimeout(t.Context(), 50*time.Millisecond)
	defer cancel()
	if _, err := s.Stat(ctx, obj); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("stat: got %v, want the context's error", err)
	}
	if n := f.Calls(remotetest.OpStat); n != 1 {
		t.Errorf("%d calls, want 1", n)
	}
	f.Verify(t)
}

// waitErr is a transient error with a Retry-After, as remote/s3 returns.
type waitErr struct{ after time.Duration }

func (e waitErr) Error() string             { return fmt.Sprintf("slow down, retry after %v", e.after) }
func (e waitErr) Unwrap() error             { return remote.ErrSlowDown }
func (e waitErr) RetryAfter() time.Duration { return e.after }

func TestRetryAfterHonoured(t *testing.T) {
	f, s, clock := setup(t, time.Minute)
	f.Add(remotetest.Fault{Op: remotetest.OpStat, Nth: 1, Err: waitErr{after: 37 * time.Second}})
	if _, err := s.Stat(t.Context(), obj); err != nil {
		t.Fatal(err)
	}
	if len(clock.slept) != 1 || clock.slept[0] != 37*time.Second {
		t.Errorf("slept %v, want the 37s the server asked for", clock.slept)
	}
	f.Verify(t)
}

func TestRetryAfterBeyondBudget(t *testing.T) {
	f, s, clock := setup(t, time.Minute)
	f.Add(remotetest.Fault{Op: remotetest.OpStat, Nth: 1, Err: waitErr{after: 2 * time.Minute}})
	_, err := s.Stat(t.Context(), obj)
	if !errors.Is(err, remote.ErrSlowDown) || !strings.Contains(err.Error(), "gave up") {
		t.Errorf("stat: got %v, want to give up at once", err)
	}
	if len(clock.slept) != 0 {
		t.Errorf("slept %v", clock.slept)
	}
	f.Verify(t)
}

func TestSlowDownLowersLimit(t *testing.T) {
	f, s, _ := setup(t, time.Minute)
	if s.Limit() != retry.DefaultMaxParallel {
		t.Fatalf("initial limit %d, want %d", s.Limit(), retry.DefaultMaxParallel)
	}
	f.Add(remotetest.Fault{Op: remotetest.OpStat, Nth: 1, Err: remote.ErrSlowDown})
	if _, err := s.Stat(t.Context(), obj); err != nil {
		t.Fatal(err)
	}
	// One request in flight got SlowDown: the limit drops to 1, then grows by one per
	// limit's worth of successes (the retry that succeeded counts).
	if got := s.Limit(); got != 2 {
		t.Errorf("limit after SlowDown and one success: %d, want 2", got)
	}
	for range 2 + 3 {
		if _, err := s.Stat(t.Context(), obj); err != nil {
			t.Fatal(err)
		}
	}
	if got := s.Limit(); got != 4 {
		t.Errorf("limit after 5 more successes: %d, want 4", got)
	}
	f.Verify(t)
}

func TestListNotRepeatedAfterObjects(t *testing.T) {
	f, s, _ := setup(t, time.Minute)
	for _, n := range []string{"ab1", "ab2", "ab3"} {
		if err := f.Put(t.Context(), remote.Handle{Type: remote.Data, Name: n}, remote.Bytes(nil)); err != nil {
			t.Fatal(err)
		}
	}
	broken := &brokenList{Storage: f, after: 2}
	s = retry.New(broken, retry.Options{Budget: time.Minute, Clock: &fakeClock{}})
	seen := 0
	err := s.List(t.Context(), remote.Data, func(remote.Info) error { seen++; return nil })
	if !errors.Is(err, remotetest.ErrInjected) || seen != 2 || broken.calls != 1 {
		t.Errorf("list: got %v after %d objects and %d listings, want the error after 2 in 1", err, seen, broken.calls)
	}
	stop := errors.New("enough")
	broken.after, broken.calls = 100, 0
	err = s.List(t.Context(), remote.Data, func(remote.Info) error { return stop })
	if err != stop || broken.calls != 1 {
		t.Errorf("list: got %v in %d listings, want fn's own error, unwrapped, in 1", err, broken.calls)
	}
}

// brokenList fails every listing after the given number of objects.
type brokenList struct {
	remote.Storage
	after, calls int
}

func (b *brokenList) List(ctx context.Context, t remote.Type, fn func(remote.Info) error) error {
	b.calls++
	n := 0
	err := b.Storage.List(ctx, t, func(info remote.Info) error {
		if n == b.after {
			return remotetest.ErrInjected
		}
		n++
		return fn(info)
	})
	return err
}

func TestSuite(t *testing.T) {
	remotetest.Run(t, func(t *testing.T) remote.Storage {
		return retry.New(remotetest.NewMem(), retry.Options{Budget: time.Minute, Clock: &fakeClock{}})
	})
}
