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

// LockCoverage is how long the object locks protect one snapshot.
type LockCoverage struct {
	Snapshot digest.ID
	Time     time.Time
	// Want is the snapshot's time plus lock-for: the locks should last at least so long.
	Want time.Time
	// Earliest is the earliest lock among the objects the snapshot needs (zero: one
	// is not locked at all), and EarliestObject that object.
	Earliest       time.Time
	EarliestObject remote.Handle
	// Short are the needed objects whose lock ends before Want, while Want is still
	// ahead (a lock ending after the intended retention has passed is as meant).
	Short []KeptByLock
}

// LockCoverage reads the lock of every object the snapshots need (their records and
// packs, the index segments, the key files and the config: one request per distinct
// object, eight at a time) and reports, per snapshot, the earliest lock and the
// objects locked too briefly. A repository without object locks returns nil.
func (r *Repo) LockCoverage(ctx context.Context, snaps []Snapshot) ([]LockCoverage, error) {
	lc := r.cfg.ObjectLock
	if lc == nil {
		return nil, nil
	}
	shared, err := r.sharedObjects(ctx)
	if err != nil {
		return nil, err
	}
	needs := make([][]remote.Handle, len(snaps))
	all := map[remote.Handle]time.Time{}
	for _, h := range shared {
		all[h] = time.Time{}
	}
	for i, s := range snaps {
		packs, err := r.packsOf(ctx, s)
		if err != nil {
			return nil, fmt.Errorf("lock coverage of snapshot %s: %w", s.ID.Short(), err)
		}
		needs[i] = append(needs[i], remote.Handle{Type: remote.Snapshot, Name: s.ID.String()})
		for id := range packs {
			needs[i] = append(needs[i], remote.Handle{Type: remote.Data, Name: id.String()})
		}
		for _, h := range needs[i] {
			all[h] = time.Time{}
		}
	}
	if err := r.readLocks(ctx, all); err != nil {
		return nil, err
	}
	now := r.opts.now()
	out := make([]LockCoverage, len(snaps))
	for i, s := range snaps {
		c := LockCoverage{Snapshot: s.ID, Time: s.Time, Want: s.Time.Add(lc.Duration())}
		for k, h := range append(needs[i], shared...) {
			until := all[h]
			if k == 0 || until.Before(c.Earliest) {
				c.Earliest, c.EarliestObject = until, h
			}
			if c.Want.After(now) && until.Before(c.Want) {
				c.Short = append(c.Short, KeptByLock{Handle: h, Until: until})
			}
		}
		sort.Slice(c.Short, func(a, b int) bool { return c.Short[a].String() < c.Short[b].String() })
		out[i] = c
	}
	return out, nil
}

// sharedObjects lists the objects every snapshot needs: the config, the key files and
// the index segments.
func (r *Repo) sharedObjects(ctx context.Context) ([]remote.Handle, error) {
	var out []remote.Handle
	for _, t := range []remote.Type{remote.Config, remote.Key, remote.Index} {
		err := r.store.List(ctx, t, func(i remote.Info) error {
			out = append(out, remote.Handle{Type: t, Name: i.Name})
			return nil
		})
		if err != nil {
			return nil, fmt.Errorf("list %s: %w", t, err)
		}
	}
	return out, nil
}

// readLocks fills in the lock of every object of locks (zero: none).
func (r *Repo) readLocks(ctx context.Context, locks map[remote.Handle]time.Time) error {
	l, err := r.locker()
	if err != nil {
		return err
	}
	handles := make([]remote.Handle, 0, len(locks))
	for h := range locks {
		handles = append(handles, h)
	}
	var mu sync.Mutex
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(lockRequests)
	for _, h := range handles {
		g.Go(func() error {
			ret, err := l.Retention(gctx, h)
			if err != nil {
				return fmt.Errorf("lock of %s: %w", h, err)
			}
			mu.Lock()
			defer mu.Unlock()
			locks[h] = ret.Until
			return nil
		})
	}
	return g.Wait()
}
