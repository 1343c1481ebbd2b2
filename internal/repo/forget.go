package repo

import (
	"context"
	"errors"
	"fmt"
	"sync"

	"github.com/cairn-backup/cairn/internal/digest"
	"github.com/cairn-backup/cairn/remote"
	"golang.org/x/sync/errgroup"
)

// ForgetSnapshots removes the snapshot records ids on purpose. It first records them
// as forgotten (a sealed state object, state.go), so that verify reads the gap as
// intended and not as damage or a rollback; only then does it delete each record, and
// it drops the deleted ones from the cache and from the snapshots this client
// remembers seeing. If the record cannot be written nothing is deleted. Only the
// records go: the data they name stays until a prune.
func (r *Repo) ForgetSnapshots(ctx context.Context, ids []digest.ID) error {
	ids, err := r.unlockedIDs(ctx, remote.Snapshot, ids)
	if err != nil || len(ids) == 0 {
		return err
	}
	if err := r.CheckDelete(ctx); err != nil {
		return err // before the forgotten record: keys that may not delete change nothing
	}
	if err := r.RecordForgotten(ctx, ids); err != nil {
		return err
	}
	var (
		mu      sync.Mutex
		deleted []digest.ID
		errs    []error
	)
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(8)
	for _, id := range ids {
		g.Go(func() error {
			err := r.store.Delete(gctx, remote.Handle{Type: remote.Snapshot, Name: id.String()})
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				errs = append(errs, fmt.Errorf("delete snapshot %s: %w", id.Short(), err))
				return nil
			}
			r.cache.remove(string(remote.Snapshot), id.String())
			deleted = append(deleted, id)
			return nil
		})
	}
	_ = g.Wait() // the goroutines collect their errors: one failed delete stops no other
	if err := r.DropSeenSnapshots(deleted); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}
