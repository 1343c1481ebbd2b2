package archive

import (
	"context"
	"sync"

	"github.com/cairn-backup/cairn/internal/digest"
	"github.com/cairn-backup/cairn/internal/repo"
)

// blobStore is what the engine needs of a repository: a write session to store
// through, and the parent's nodes to read. A dry run swaps in one that stores nothing.
type blobStore interface {
	SaveBlob(ctx context.Context, t repo.BlobType, data []byte) (digest.ID, int, error)
	Has(ctx context.Context, t repo.BlobType, id digest.ID) (bool, error)
	SaveTree(ctx context.Context, data []byte) (digest.ID, error)
	LoadTree(ctx context.Context, id digest.ID) ([]byte, error)
	Flush(ctx context.Context) error
	Abort(ctx context.Context) error
	Keep(ctx context.Context) error
}

// writerStore stores through a repo.Writer and reads nodes from the repository.
type writerStore struct {
	*repo.Writer
	r *repo.Repo
}

func (s writerStore) LoadTree(ctx context.Context, id digest.ID) ([]byte, error) {
	return s.r.LoadTree(ctx, id)
}

// dryStore answers as the repository would, counting what a real run would add.
type dryStore struct {
	r    *repo.Repo
	mu   sync.Mutex
	seen map[digest.ID]bool
}

func newDryStore(r *repo.Repo) *dryStore { return &dryStore{r: r, seen: map[digest.ID]bool{}} }

func (d *dryStore) SaveBlob(ctx context.Context, t repo.BlobType, data []byte) (digest.ID, int, error) {
	id := digest.Of(data)
	has, err := d.Has(ctx, t, id)
	if err != nil || has {
		return id, 0, err
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.seen[id] {
		return id, 0, nil
	}
	d.seen[id] = true
	return id, len(data), nil
}

func (d *dryStore) Has(ctx context.Context, t repo.BlobType, id digest.ID) (bool, error) {
	d.mu.Lock()
	seen := d.seen[id]
	d.mu.Unlock()
	if seen {
		return true, nil
	}
	return d.r.Has(ctx, t, id)
}

func (d *dryStore) SaveTree(ctx context.Context, data []byte) (digest.ID, error) {
	id, _, err := d.SaveBlob(ctx, repo.TreeBlob, data)
	return id, err
}

func (d *dryStore) LoadTree(ctx context.Context, id digest.ID) ([]byte, error) {
	return d.r.LoadTree(ctx, id)
}

func (d *dryStore) Flush(context.Context) error { return nil }

func (d *dryStore) Abort(context.Context) error { return nil }

func (d *dryStore) Keep(context.Context) error { return nil }
