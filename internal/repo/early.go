package repo

import (
	"context"
	"sync"
	"time"

	"github.com/cairn-backup/cairn/remote"
	"golang.org/x/sync/errgroup"
)

// A backup's first listings and its run note need no key: with Options.EarlyLists,
// Open lists snapshots and index segments beside the config and key file reads, sends
// the run note once the config is read, and lists packs and marks once the storage
// acknowledged the note, so that all of it runs during the key derivation instead of
// costing round trips after it (docs/prune.md, "Which requests may go side by side").
// Each listing is used once, by the backup's first load of its kind (LoadSnapshots,
// LoadIndex, StoredPacksOnly's listing of packs and marks); every later listing goes
// to the store. A listing taken early is only older: what that costs, and why the
// prune protocol still holds, is in docs/prune.md.

// earlyTypes are the listings Open starts with Options.EarlyLists.
var earlyTypes = []remote.Type{remote.Snapshot, remote.Index, remote.Data, remote.Mark}

// afterNote are the early listings sent only once the storage acknowledged the run
// note: a prune deleting at once must see the note, or the backup its mark.
var afterNote = map[remote.Type]bool{remote.Data: true, remote.Mark: true}

// earlyLists holds the listings Open started, and the run note it sent.
type earlyLists struct {
	at     time.Time // on this process's monotonic clock, before the marks listing
	cancel context.CancelFunc
	g      errgroup.Group
	mu     sync.Mutex
	lists  map[remote.Type]*earlyList
	gate   chan struct{} // closed once note is set
	note   *RunNote      // sent by sendNote (the gated listings wait for it)
	owned  bool          // no BeginRun took note: stop ends it
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
	e := &earlyLists{at: time.Now(), cancel: cancel, lists: map[remote.Type]*earlyList{}, gate: make(chan struct{})}
	for _, t := range earlyTypes {
		l := &earlyList{done: make(chan struct{})}
		e.lists[t] = l
		e.g.Go(func() error {
			defer close(l.done)
			if afterNote[t] {
				if l.err = e.noteStored(ctx); l.err != nil {
					return nil
				}
			}
			l.err = store.List(ctx, t, func(i remote.Info) error {
				l.infos = append(l.infos, i)
				return nil
			})
			return nil
		})
	}
	return e
}

// sendNote sends the backup's run note, empty (docs/format.md), and opens the gate of
// the listings that wait for it. Open calls it once the config is read: a store that
// holds no repository never gets a note.
func (e *earlyLists) sendNote(ctx context.Context, r *Repo) error {
	if e == nil {
		return nil
	}
	n, _, err := r.emptyRunNote()
	if err != nil {
		return err
	}
	n.start(ctx, []byte{})
	e.mu.Lock()
	e.note, e.owned = n, true
	e.mu.Unlock()
	close(e.gate)
	return nil
}

// noteStored waits for the note's PUT to be acknowledged.
func (e *earlyLists) noteStored(ctx context.Context) error {
	select {
	case <-e.gate:
	case <-ctx.Done():
		return ctx.Err()
	}
	return e.note.stored(ctx)
}

// takeNote hands the early note to BeginRun, which ends it from then on.
func (e *earlyLists) takeNote() *RunNote {
	if e == nil {
		return nil
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	n := e.note
	e.owned = false
	return n
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

// stop cancels the listings not yet done and waits for them, and removes a note
// nobody took (Open failed after sending it).
func (e *earlyLists) stop() {
	if e == nil {
		return
	}
	e.cancel()
	_ = e.g.Wait()
	e.mu.Lock()
	n, owned := e.note, e.owned
	e.owned = false
	e.mu.Unlock()
	if owned {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		_ = n.End(ctx) // a note left behind only ages
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
