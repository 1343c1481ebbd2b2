package verify

import (
	"context"
	"errors"
	"fmt"
	"sync"

	"github.com/cairn-backup/cairn/internal/digest"
	"github.com/cairn-backup/cairn/internal/repo"
)

// treeSource serves manifest nodes to the walk from tree packs read from the storage,
// never from the client's cache: verify judges what the repository holds. It keeps
// the last few packs in memory (at most treeCacheBytes), since a walk reads many small
// nodes of the same packs. It is a manifest.BlobLoader and records every tree blob
// that cannot be loaded.
type treeSource struct {
	r     *repo.Repo
	f     *fetcher
	rec   *recorder
	packs *packTable
	rd    *reader // with read-data: checks the tree packs fetched here; may be nil

	mu     sync.Mutex
	recent []*treePack // most recent last
	size   int
}

type treePack struct {
	id   digest.ID
	data []byte
	err  error
	done chan struct{} // closed when data or err is set
}

const treeCacheBytes = 64 << 20

// errBadBlob marks a load that failed because the blob is bad (recorded as such).
var errBadBlob = errors.New("bad blob")

// LoadTree returns the plaintext of tree blob id.
func (t *treeSource) LoadTree(ctx context.Context, id digest.ID) ([]byte, error) {
	loc, ok := t.r.Lookup(repo.TreeBlob, id)
	if !ok {
		t.rec.badBlob(repo.TreeBlob, id, digest.ID{}, "not in the index")
		return nil, fmt.Errorf("tree blob %s: %w: %w", id.Short(), errBadBlob, repo.ErrBlobNotFound)
	}
	t.packs.markUsed(loc.Pack)
	data, err := t.pack(ctx, loc.Pack)
	if err != nil {
		if ctx.Err() == nil && !errors.Is(err, errUnreadable) {
			t.rec.badBlob(repo.TreeBlob, id, loc.Pack, err.Error())
			err = fmt.Errorf("%w: %w", errBadBlob, err)
		}
		return nil, err
	}
	plain, err := t.r.OpenIn(data, loc)
	if err != nil {
		t.rec.badBlob(repo.TreeBlob, id, loc.Pack, err.Error())
		return nil, fmt.Errorf("tree blob %s in pack %s: %w: %w", id.Short(), loc.Pack.Short(), errBadBlob, err)
	}
	return plain, nil
}

// pack returns a tree pack's bytes, fetching it once however many walkers ask. Damaged
// bytes are returned too: blobs that still open are good.
func (t *treeSource) pack(ctx context.Context, id digest.ID) ([]byte, error) {
	t.mu.Lock()
	for i, p := range t.recent {
		if p.id == id {
			t.recent = append(append(t.recent[:i:i], t.recent[i+1:]...), p) // most recent last
			t.mu.Unlock()
			select {
			case <-p.done:
				return p.data, p.err
			case <-ctx.Done():
				return nil, ctx.Err()
			}
		}
	}
	p := &treePack{id: id, done: make(chan struct{})}
	t.recent = append(t.recent, p)
	t.mu.Unlock()
	var hashOK bool
	p.data, hashOK, p.err = t.f.fetch(ctx, id, nil)
	close(p.done)
	if p.err == nil && t.rd != nil && t.rd.take(id) {
		t.rd.inspect(ctx, id, p.data, hashOK)
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	if p.err != nil && ctx.Err() != nil {
		t.drop(p) // not a finding: fetch again if asked again
	}
	t.size += len(p.data)
	for len(t.recent) > 1 && t.size > treeCacheBytes {
		t.size -= len(t.recent[0].data)
		t.recent = t.recent[1:]
	}
	return p.data, p.err
}

func (t *treeSource) drop(p *treePack) {
	for i, q := range t.recent {
		if q == p {
			t.recent = append(t.recent[:i], t.recent[i+1:]...)
			return
		}
	}
}
