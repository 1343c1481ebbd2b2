package archive

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/cairn-backup/cairn/internal/digest"
	"github.com/cairn-backup/cairn/internal/repo"
	"github.com/cairn-backup/cairn/internal/repo/repotest"
	"github.com/cairn-backup/cairn/remote"
)

// markBeforeNote is a store on which a prune marks every pack once the backup has
// listed marks and before its run note is stored: a prune deleting at once then sees
// no backup running, and the backup, filtering with the marks it listed first, reuses
// the marked packs.
type markBeforeNote struct {
	remote.Storage
	listed     chan struct{} // closed once a marks listing returned
	listedOnce sync.Once
	noteOnce   sync.Once
	mark       func()
}

func (s *markBeforeNote) List(ctx context.Context, t remote.Type, fn func(remote.Info) error) error {
	err := s.Storage.List(ctx, t, fn)
	if t == remote.Mark {
		s.listedOnce.Do(func() { close(s.listed) })
	}
	return err
}

func (s *markBeforeNote) Put(ctx context.Context, h remote.Handle, body remote.Body) error {
	if h.Type == remote.Lock {
		s.noteOnce.Do(func() {
			select {
			case <-s.listed:
				s.mark()
			case <-time.After(10 * time.Second):
			}
		})
	}
	return s.Storage.Put(ctx, h, body)
}

// A backup lists marks beside the config read, before its run note is written. A
// prune that marks packs the backup reuses in between, and so may delete them at once,
// leaves no snapshot pointing into them, however short the run: the backup either
// withdraws its snapshot or does not use the packs (docs/prune.md).
func TestMarkBeforeTheNoteIsHonoured(t *testing.T) {
	e := newEnv(t)
	src := t.TempDir()
	writeTree(t, src, 7)
	e.backup(Options{Paths: []string{src}})
	packs := e.packIDs()
	marked := false
	st := &markBeforeNote{Storage: e.store, listed: make(chan struct{}), mark: func() {
		if _, err := e.open().SaveMark(context.Background(), 24*time.Hour, packs); err != nil {
			t.Error(err)
		}
		marked = true
	}}
	opts := e.opts
	opts.EarlyLists = true
	r := repotest.Open(t, st, opts)
	res, err := Run(context.Background(), r, Options{Paths: []string{src}, Host: "test-host"})
	if !marked {
		t.Fatal("the prune never marked: the run note was written before any marks listing")
	}
	if err != nil {
		if !errors.Is(err, repo.ErrOverGrace) {
			t.Fatalf("backup: %v, want it to withdraw its snapshot (ErrOverGrace)", err)
		}
		if ids, lerr := e.open().Snapshots(t.Context()); lerr != nil || len(ids) != 1 {
			t.Fatalf("after the withdrawn backup: %d snapshots (%v), want only the first", len(ids), lerr)
		}
		return
	}
	r2 := e.open()
	r2.PresentPacksOnly()
	used, err := r2.UsedBlobs(t.Context(), []repo.Snapshot{{ID: res.Snapshot, Snapshot: snapshotTree(t, r2, res.Snapshot)}})
	if err != nil {
		t.Fatal(err)
	}
	old := map[digest.ID]bool{}
	for _, id := range packs {
		old[id] = true
	}
	for b := range used {
		if loc, ok := r2.Lookup(b.Type, b.ID); ok && old[loc.Pack] {
			t.Fatalf("the new snapshot uses blob %s in pack %s, marked before the backup's note was stored", b.ID.Short(), loc.Pack.Short())
		}
	}
}

func (e *env) packIDs() []digest.ID {
	e.t.Helper()
	var out []digest.ID
	err := e.store.List(e.t.Context(), remote.Data, func(i remote.Info) error {
		if id, err := digest.Parse(i.Name); err == nil {
			out = append(out, id)
		}
		return nil
	})
	if err != nil {
		e.t.Fatal(err)
	}
	return out
}
