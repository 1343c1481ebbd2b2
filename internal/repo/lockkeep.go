package repo

import (
	"context"
	"fmt"
	"sort"
	"sync"
	"time"

	"github.com/cairn-backup/cairn/internal/digest"
	"github.com/cairn-backup/cairn/remote"
	"golang.org/x/sync/errgroup"
)

// KeptByLock is an object a delete left in place because its lock had not ended.
type KeptByLock struct {
	remote.Handle
	Until time.Time
}

// keptByLocks collects what deletes of one process left to locks.
type keptByLocks struct {
	mu   sync.Mutex
	kept []KeptByLock
}

// KeptByLocks returns the objects deletes left in place because they were locked,
// latest lock last. A later prune or forget, after the date, removes them.
func (r *Repo) KeptByLocks() []KeptByLock {
	r.locked.mu.Lock()
	defer r.locked.mu.Unlock()
	out := append([]KeptByLock(nil), r.locked.kept...)
	sort.Slice(out, func(i, j int) bool { return out[i].Until.Before(out[j].Until) })
	return out
}

// unlocked returns the names of type t that may be deleted now, and records the others
// as kept: a delete is never tried on a locked object (on S3 it would only hide the
// object behind a delete marker). Each lock is read from the storage unless the
// client's record shows it still binds.
func (r *Repo) unlocked(ctx context.Context, t remote.Type, names []string) ([]string, error) {
	if r.cfg.ObjectLock == nil || !Locked(t) || len(names) == 0 {
		return names, nil
	}
	l, err := r.locker()
	if err != nil {
		return nil, err
	}
	now := r.opts.now()
	rec := r.loadLockRecord()
	var (
		mu   sync.Mutex
		free []string
	)
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(lockRequests)
	for _, name := range names {
		h := remote.Handle{Type: t, Name: name}
		if until := time.Unix(rec[h.String()], 0); rec[h.String()] > 0 && now.Before(until) {
			r.keep(h, until)
			continue
		}
		g.Go(func() error {
			ret, err := l.Retention(gctx, h)
			if err != nil {
				return fmt.Errorf("lock of %s: %w", h, err)
			}
			if ret.Locked(now) {
				r.keep(h, ret.Until)
				return nil
			}
			mu.Lock()
			defer mu.Unlock()
			free = append(free, name)
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		return nil, err
	}
	return free, nil
}

func (r *Repo) keep(h remote.Handle, until time.Time) {
	r.locked.mu.Lock()
	defer r.locked.mu.Unlock()
	r.locked.kept = append(r.locked.kept, KeptByLock{Handle: h, Until: until})
}

// deleteUnlessLocked deletes h, unless its lock still binds: then it is kept and
// reported by KeptByLocks (a plain delete would only hide it behind a delete marker,
// which restore and verify report as an attack).
func (r *Repo) deleteUnlessLocked(ctx context.Context, h remote.Handle) error {
	free, err := r.unlocked(ctx, h.Type, []string{h.Name})
	if err != nil || len(free) == 0 {
		return err
	}
	return r.store.Delete(ctx, h)
}

// unlockedIDs is unlocked for ids.
func (r *Repo) unlockedIDs(ctx context.Context, t remote.Type, ids []digest.ID) ([]digest.ID, error) {
	names := make([]string, len(ids))
	for i, id := range ids {
		names[i] = id.String()
	}
	free, err := r.unlocked(ctx, t, names)
	if err != nil {
		return nil, err
	}
	out := make([]digest.ID, 0, len(free))
	for _, name := range free {
		id, err := digest.Parse(name)
		if err != nil {
			return nil, err
		}
		out = append(out, id)
	}
	return out, nil
}
