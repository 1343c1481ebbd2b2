package retry

import (
	"context"
	"slices"
	"sync"
)

// limiter bounds the requests in flight with a limit that adapts to the server:
// halved when it asks to slow down, grown by one after a limit's worth of successes
// (additive increase, multiplicative decrease, as TCP does).
type limiter struct {
	mu        sync.Mutex
	limit     int
	max       int
	inflight  int
	successes int // since the last change of limit
	// epoch counts the decreases. A slow-down answer to a request sent before the
	// last decrease says nothing new, so it does not halve the limit again: a burst of
	// them from one wave of requests halves it once.
	epoch   int
	waiters []chan struct{} // closed when granted, first come first served
}

func newLimiter(max int) *limiter {
	return &limiter{limit: max, max: max}
}

// acquire waits for a slot and returns the epoch to pass to release.
func (l *limiter) acquire(ctx context.Context) (int, error) {
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	l.mu.Lock()
	if l.inflight < l.limit && len(l.waiters) == 0 {
		l.inflight++
		epoch := l.epoch
		l.mu.Unlock()
		return epoch, nil
	}
	ch := make(chan struct{})
	l.waiters = append(l.waiters, ch)
	l.mu.Unlock()
	select {
	case <-ch:
		l.mu.Lock()
		defer l.mu.Unlock()
		return l.epoch, nil
	case <-ctx.Done():
		l.mu.Lock()
		defer l.mu.Unlock()
		if i := slices.Index(l.waiters, ch); i >= 0 {
			l.waiters = slices.Delete(l.waiters, i, i+1)
		} else {
			l.inflight-- // granted meanwhile: hand the slot on
			l.grant()
		}
		return 0, ctx.Err()
	}
}

// release returns a slot; slow tells that the server asked to slow down.
func (l *limiter) release(epoch int, slow bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	inflight := l.inflight // this request included
	l.inflight--
	switch {
	case slow && epoch == l.epoch:
		l.limit = max(1, min(l.limit, inflight)/2)
		l.epoch++
		l.successes = 0
	case !slow && l.limit < l.max:
		l.successes++
		if l.successes >= l.limit {
			l.limit++
			l.successes = 0
		}
	}
	l.grant()
}

// grant hands free slots to waiters; l.mu is held.
func (l *limiter) grant() {
	for l.inflight < l.limit && len(l.waiters) > 0 {
		close(l.waiters[0])
		l.waiters = l.waiters[1:]
		l.inflight++
	}
}

func (l *limiter) current() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.limit
}
