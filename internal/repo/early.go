package repo

import (
	"context"
	"sync"
	"time"

	"github.com/cairn-backup/cairn/remote"
	"golang.org/x/sync/errgroup"
)

// A backup's first listings need no key: with Options.EarlyLists, Open sends them
// beside the config and key file reads, so that they run during the key derivation
// instead of costing a round trip after it (docs/prune.md, "Which requests may go
// side by side"). Each is used once, by the backup's first load of its kind
// (LoadSnapshots, LoadIndex, StoredPacksOnly's listing of packs and marks); every
// later listing goes to the store. A listing taken early is only older: what that
// costs, and why the prune protocol still holds, is in docs/prune.md.

// earlyTypes are the listings Open starts with Options.EarlyLists.
var earlyTypes = []remote.Type{remote.Snapshot, remote.Index, remote.Data, remote.Mark}

// earlyLists holds the listings Open started.
type earlyLists struct {
	at     time.Time // on this process's monotonic clock, before the marks listing
	cancel context.CancelFunc
	g      errgroup.Group
	mu     sync.Mutex
	lists  map[remote.Type]*earlyList
}

type earlyList struct {
	done  chan struct{} // closed when the listing ended
	infos []remote.Info
	err   error
	taken bool
}

// startEarly lists earlyTypes in the background.
func startEarly(ctx context.Context, store remote.Storage) *earlyLists {
	ctx, cancel := context.WithCancel(ctx)
	e := &earlyLists{at: time.Now(), cancel: cancel, lists: map[remote.Type]*earlyList{}}
	for _, t := range earlyTypes {
		l := &earlyList{done: make(chan struct{})}
		e.lists[t] = l
		e.g.Go(func() error {
			defer close(l.done)
			l.err = store.List(ctx, t, func(i remote.Info) error {
				l.infos = append(l.infos, i)
				return nil
			})
			return nil
		})
	}
	return e
}

// take returns the early listing of t, once, when it has ended; ok is false when
// there is none (left).
func (e *earlyLists) take(ctx context.Context, t remote.Type) (infos []remote.Info, ok bool, err error) {
	if e == nil {
		return nil, false, nil
	}
	e.mu.Lock()
	l := e.lists[t]
	if l == nil || l.taken {
		e.mu.Unlock()
		return nil, false, nil
	}
	l.taken = true
	e.mu.Unlock()
	select {
	case <-l.done:
		return l.infos, true, l.err
	case <-ctx.Done():
		return nil, true, ctx.Err()
	}
}

// startOf returns the time taken before the early listing of t was sent, if it is
// not used yet.
func (e *earlyLists) startOf(t remote.Type) (time.Time, bool) {
	if e == nil {
		return time.Time{}, false
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	l := e.lists[t]
	return e.at, l != nil && !l.taken
}

// stop cancels the listings not yet done and waits for them.
func (e *earlyLists) stop() {
	if e != nil {
		e.cancel()
		_ = e.g.Wait()
	}
}

// listFirst lists t through fn: from the early listing when there is one not yet
// used and the repository was asked to reuse only stored packs (a backup, a restore:
// StoredPacksOnly, PresentPacksOnly), else from the store. A prune or forget, which
// must list after writing their run note, never takes one.
func (r *Repo) listFirst(ctx context.Context, t remote.Type, fn func(remote.Info) error) error {
	if r.stored == nil {
		return r.store.List(ctx, t, fn)
	}
	infos, ok, err := r.early.take(ctx, t)
	if !ok {
		return r.store.List(ctx, t, fn)
	}
	for _, i := range infos {
		if ferr := fn(i); ferr != nil {
			return ferr
		}
	}
	return err
}
