package throttle

import (
	"context"
	"sync"
	"time"
)

// maxStep is the most bytes one read takes tokens for at once: a large read waits in
// steps, so that concurrent transfers share the rate smoothly.
const maxStep = 32 << 10

// Bucket is a token bucket of bytes, shared by concurrent transfers. A transfer takes
// its tokens first and then sleeps off its debt, so the rate holds however many
// transfers wait at once.
type Bucket struct {
	mu     sync.Mutex
	rate   float64 // bytes per second
	burst  float64 // the most tokens saved up while idle
	tokens float64
	last   time.Time
	now    func() time.Time
	sleep  func(ctx context.Context, d time.Duration) error
}

// NewBucket returns a bucket that lets rate bytes per second through. It starts
// empty, and saves up at most a quarter of a second's worth (at least one step): so a
// transfer whose reader stalled (a busy machine, a slow disk) catches up on up to
// that much, and one that starts after an idle spell bursts no more than that.
func NewBucket(rate int64) *Bucket {
	b := &Bucket{rate: float64(rate), burst: max(float64(rate)/4, maxStep), now: time.Now, sleep: sleep}
	b.last = b.now()
	return b
}

// Wait takes n tokens, sleeping as long as the bucket is in debt; it returns early
// with ctx's error when ctx ends.
func (b *Bucket) Wait(ctx context.Context, n int) error {
	if n <= 0 {
		return nil
	}
	b.mu.Lock()
	now := b.now()
	b.tokens = min(b.burst, b.tokens+now.Sub(b.last).Seconds()*b.rate)
	b.last = now
	b.tokens -= float64(n)
	debt := -b.tokens
	b.mu.Unlock()
	if debt <= 0 {
		return nil
	}
	return b.sleep(ctx, time.Duration(debt/b.rate*float64(time.Second)))
}

func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}
