package repo

import (
	"context"
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
	sort.Slice(out, func(i, j int) bool {
		if !out[i].Time.Equal(out[j].Time) {
			return out[i].Time.Before(out[j].Time)
		}
		return out[i].ID.String() < out[j].ID.String()
	})
	return out, bad, nil
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
