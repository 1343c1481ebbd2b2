package archive

import (
	"context"
	"sync"
	"unsafe"

	"github.com/cairn-backup/cairn/internal/fsys"
	"golang.org/x/sync/semaphore"
)

// aheadCache holds the listings read ahead until the walk takes them, at most max
// bytes of them (as counted by cost): a put waits for room. It also remembers the
// directories the walk reached before their listing, so that the read-ahead neither
// holds those (nobody would take them) nor reads beneath them.
type aheadCache struct {
	room *semaphore.Weighted
	max  int64

	mu     sync.Mutex
	dirs   map[string]heldListing
	passed map[string]struct{}
	done   bool  // stopped, or too far behind the walk: nothing more is held
	held   int64 // bytes held now
	peak   int64 // the most bytes held at once
	taken  int   // listings the walk took
	tookB  int64 // and their bytes
	stales int   // listings taken but dropped: the directory had changed since
	left   int   // listings nobody took, dropped by close
}

type heldListing struct {
	l    listing
	cost int64
}

// maxPassed bounds the directories remembered as passed: a read-ahead that far behind
// the walk stops, and the walk goes on alone.
const maxPassed = 1 << 16

func newAheadCache(max int64) *aheadCache {
	return &aheadCache{room: semaphore.NewWeighted(max), max: max,
		dirs: map[string]heldListing{}, passed: map[string]struct{}{}}
}

// cost is about what holding the listing of path takes in memory.
func (l listing) cost(path string) int64 {
	const perEntry = int64(unsafe.Sizeof("")) + int64(unsafe.Sizeof(fsys.Info{}))
	n := int64(64 + len(path))
	for _, name := range l.names {
		n += perEntry + int64(len(name))
	}
	return n
}

// wanted reports whether the listing of path may still be of use to the walk.
func (c *aheadCache) wanted(path string) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	_, passed := c.passed[path]
	return !c.done && !passed
}

// put holds the listing of path, waiting for room while the cache is full. It
// returns false when the read-ahead should not go beneath path: it was stopped, or
// the walk has passed path. A listing bigger than the whole cache is not held, and
// the walk reads it itself.
func (c *aheadCache) put(ctx context.Context, path string, l listing) bool {
	cost := l.cost(path)
	if cost > c.max {
		return c.wanted(path)
	}
	if err := c.room.Acquire(ctx, cost); err != nil {
		return false
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	_, passed := c.passed[path]
	if _, held := c.dirs[path]; held || passed || c.done || ctx.Err() != nil {
		c.room.Release(cost)
		return false
	}
	c.dirs[path] = heldListing{l, cost}
	c.held += cost
	c.peak = max(c.peak, c.held)
	return true
}

// take returns the listing of path and drops it; without one, it remembers that the
// walk has passed path.
func (c *aheadCache) take(path string) (listing, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	h, ok := c.dirs[path]
	if !ok {
		if !c.done {
			c.passed[path] = struct{}{}
			if len(c.passed) > maxPassed {
				c.done, c.passed = true, nil
			}
		}
		return listing{}, false
	}
	delete(c.dirs, path)
	c.held -= h.cost
	c.taken++
	c.tookB += h.cost
	c.room.Release(h.cost)
	return h.l, true
}

// stale counts n listings the walk took but could not use.
func (c *aheadCache) stale(n int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.stales += n
}

// close drops everything held; nothing is held after it.
func (c *aheadCache) close() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.left += len(c.dirs)
	c.done, c.dirs, c.passed, c.held = true, map[string]heldListing{}, nil, 0
}
