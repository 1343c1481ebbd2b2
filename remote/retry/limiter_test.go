package retry

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/sync/errgroup"
)

func TestLimiterHalvesOncePerWave(t *testing.T) {
	l := newLimiter(16)
	var epochs []int
	for range 8 {
		e, err := l.acquire(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		epochs = append(epochs, e)
	}
	// The whole wave of 8 is told to slow down: the first answer halves the limit to
	// 4, the others were sent before that and change nothing.
	for _, e := range epochs {
		l.release(e, true)
	}
	if got := l.current(); got != 4 {
		t.Errorf("limit after a wave of SlowDown: %d, want 4", got)
	}
	e, _ := l.acquire(t.Context())
	l.release(e, true) // a new request told to slow down: halve again
	if got := l.current(); got != 1 {
		t.Errorf("limit after another SlowDown: %d, want max(1, 1/2)", got)
	}
}

func TestLimiterWaitsAndCancels(t *testing.T) {
	l := newLimiter(1)
	e, err := l.acquire(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 20*time.Millisecond)
	defer cancel()
	if _, err := l.acquire(ctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("acquire beyond the limit: got %v, want the context's error", err)
	}
	l.release(e, false)
	if _, err := l.acquire(t.Context()); err != nil {
		t.Fatalf("acquire after release: %v", err)
	}
}

// TestLimiterBound runs many workers, some cancelled, and checks that the limit is
// never exceeded and no slot leaks.
func TestLimiterBound(t *testing.T) {
	const limit = 3
	l := newLimiter(limit)
	var inflight, peak atomic.Int32
	g, ctx := errgroup.WithContext(t.Context())
	for i := range 40 {
		g.Go(func() error {
			wctx, cancel := context.WithTimeout(ctx, time.Duration(1+i%3)*time.Millisecond)
			defer cancel()
			if i%4 != 0 {
				wctx = ctx // only every fourth worker may be cancelled while waiting
			}
			e, err := l.acquire(wctx)
			if err != nil {
				return nil
			}
			n := inflight.Add(1)
			for p := peak.Load(); n > p && !peak.CompareAndSwap(p, n); p = peak.Load() {
			}
			time.Sleep(time.Millisecond)
			inflight.Add(-1)
			l.release(e, false)
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		t.Fatal(err)
	}
	if peak.Load() > limit {
		t.Errorf("%d requests in flight, limit %d", peak.Load(), limit)
	}
	if l.inflight != 0 || len(l.waiters) != 0 {
		t.Errorf("leaked: %d in flight, %d waiting", l.inflight, len(l.waiters))
	}
}
