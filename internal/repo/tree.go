package repo

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"sync"

	"github.com/cairn-backup/cairn/internal/digest"
	"github.com/cairn-backup/cairn/internal/pack"
	"github.com/cairn-backup/cairn/manifest"
	"github.com/cairn-backup/cairn/remote"
	"golang.org/x/sync/errgroup"
)

// LoadTree reads a manifest node; *Repo is a manifest.BlobLoader.
func (r *Repo) LoadTree(ctx context.Context, id digest.ID) ([]byte, error) {
	return r.LoadBlob(ctx, pack.Tree, id)
}

// Snapshot is a decoded snapshot record with its id.
type Snapshot struct {
	ID digest.ID
	*manifest.Snapshot
}

// LoadSnapshots reads every snapshot record, oldest first. Records that fail to load
// are returned as errors beside the good ones: one damaged record must not hide the rest.
func (r *Repo) LoadSnapshots(ctx context.Context) ([]Snapshot, []error, error) {
	ids, _, listErr := r.listSizedFrom(ctx, remote.Snapshot, r.listFirst)
	if ids == nil && listErr != nil {
		return nil, nil, listErr
	}
	keep := make(map[string]bool, len(ids))
	for _, id := range ids {
		keep[id.String()] = true
	}
	r.cache.retain(string(remote.Snapshot), keep)
	var (
		mu   sync.Mutex
		out  []Snapshot
		bad  []error
		g, _ = errgroup.WithContext(ctx)
	)
	if listErr != nil {
		bad = append(bad, listErr)
	}
	g.SetLimit(8)
	for _, id := range ids {
		g.Go(func() error {
			s, err := r.loadSnapshot(ctx, id)
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				bad = append(bad, &SnapshotError{ID: id, Err: err})
			} else {
				out = append(out, Snapshot{ID: id, Snapshot: s})
			}
			return nil
		})
	}
	_ = g.Wait()
	if err := ctx.Err(); err != nil {
		return nil, nil, err
	}
	bad, err := r.dropRemoved(ctx, bad)
	if err != nil {
		return nil, nil, err
	}
	sort.Slice(out, func(i, j int) bool {
		if !out[i].Time.Equal(out[j].Time) {
			return out[i].Time.Before(out[j].Time)
		}
		return out[i].ID.String() < out[j].ID.String()
	})
	return out, bad, nil
}

// dropRemoved leaves out of bad the records that were not found because forget (or a
// backup taking its snapshot back) removed them after the listing: listed again, they
// are gone. A record still listed and not found is reported (a lost object).
func (r *Repo) dropRemoved(ctx context.Context, bad []error) ([]error, error) {
	var missing []error
	for _, e := range bad {
		if errors.Is(e, remote.ErrNotFound) {
			missing = append(missing, e)
		}
	}
	if len(missing) == 0 {
		return bad, nil
	}
	ids, err := r.listIDs(ctx, remote.Snapshot)
	if err != nil {
		return bad, nil // keep reporting them: whether they were removed is unknown
	}
	listed := make(map[digest.ID]bool, len(ids))
	for _, id := range ids {
		listed[id] = true
	}
	out := bad[:0]
	for _, e := range bad {
		var se *SnapshotError
		if errors.As(e, &se) && errors.Is(e, remote.ErrNotFound) && !listed[se.ID] {
			continue
		}
		out = append(out, e)
	}
	return out, ctx.Err()
}

// SnapshotError is why the snapshot record ID did not load (LoadSnapshots).
type SnapshotError struct {
	ID  digest.ID
	Err error
}

func (e *SnapshotError) Error() string { return e.Err.Error() }
func (e *SnapshotError) Unwrap() error { return e.Err }

func (r *Repo) loadSnapshot(ctx context.Context, id digest.ID) (*manifest.Snapshot, error) {
	plain, err := r.LoadSnapshot(ctx, id)
	if err != nil {
		return nil, err
	}
	s, err := manifest.DecodeSnapshot(plain)
	if err != nil {
		return nil, fmt.Errorf("snapshots/%s: %w", id, err)
	}
	return s, nil
}
