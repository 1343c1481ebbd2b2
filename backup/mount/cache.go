package mount

import (
	"container/list"
	"context"
	"sync"

	"github.com/cairn-backup/cairn/internal/digest"
	"golang.org/x/sync/errgroup"
)

// loadFunc reads, authenticates and checks the plaintext of one data blob.
type loadFunc func(ctx context.Context, id digest.ID) ([]byte, error)

// blobCache holds the plaintext of recently read data blobs, at most limit bytes of
// them (and always the last one read, however large), least recently used out first.
// A blob is loaded once however many readers ask for it at the same time; a failed
// load is not kept, so the next read tries again.
type blobCache struct {
	load  loadFunc
	ctx   context.Context // the mount's: loads outlive the request that started them
	limit int64
	ahead *errgroup.Group // read-ahead loads, bounded; a busy pool skips read-ahead

	mu    sync.Mutex
	items map[digest.ID]*cached
	lru   list.List // of *cached that loaded, most recently used first
	used  int64
}

type cached struct {
	id   digest.ID
	done chan struct{} // closed when data or err is set
	data []byte
	err  error
	elem *list.Element // in lru, once loaded
}

func newBlobCache(ctx context.Context, load loadFunc, limit int64, ahead *errgroup.Group) *blobCache {
	return &blobCache{load: load, ctx: ctx, limit: limit, ahead: ahead, items: map[digest.ID]*cached{}}
}

// get returns the plaintext of blob id, loading it unless it is cached or on its way.
// The bytes are shared: callers must not change them.
func (c *blobCache) get(ctx context.Context, id digest.ID) ([]byte, error) {
	it, start := c.entry(id)
	if start {
		c.fill(it)
	}
	select {
	case <-it.done:
		return it.data, it.err
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// entry returns the cache's entry for id, and whether the caller must fill it.
func (c *blobCache) entry(id digest.ID) (*cached, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if it := c.items[id]; it != nil {
		if it.elem != nil {
			c.lru.MoveToFront(it.elem)
		}
		return it, false
	}
	it := &cached{id: id, done: make(chan struct{})}
	c.items[id] = it
	return it, true
}

func (c *blobCache) fill(it *cached) {
	data, err := c.load(c.ctx, it.id)
	c.mu.Lock()
	defer c.mu.Unlock()
	defer close(it.done)
	if err != nil {
		it.err = err
		delete(c.items, it.id)
		return
	}
	it.data = data
	it.elem = c.lru.PushFront(it)
	c.used += int64(len(data))
	for c.used > c.limit && c.lru.Len() > 1 {
		old := c.lru.Remove(c.lru.Back()).(*cached)
		delete(c.items, old.id)
		c.used -= int64(len(old.data))
	}
}

// prefetch starts loading the blobs not yet cached, as far as the read-ahead pool
// has room: read-ahead never waits and never fails a read (a failed load is tried
// again when the blob is read).
func (c *blobCache) prefetch(ids []digest.ID) {
	for _, id := range ids {
		if c.has(id) {
			continue
		}
		if !c.ahead.TryGo(func() error {
			if it, start := c.entry(id); start {
				c.fill(it)
			}
			return nil
		}) {
			return
		}
	}
}

func (c *blobCache) has(id digest.ID) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.items[id] != nil
}

// size returns the bytes and blobs held, for tests.
func (c *blobCache) size() (int64, int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.used, c.lru.Len()
}
