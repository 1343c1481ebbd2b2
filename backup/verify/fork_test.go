package verify

import (
	"context"
	"fmt"
	"sync"
	"testing"

	"github.com/cairn-backup/cairn/backup/archive"
	"github.com/cairn-backup/cairn/internal/digest"
	"github.com/cairn-backup/cairn/internal/repo/repotest"
	"github.com/cairn-backup/cairn/remote"
)

// snapshotGate holds every snapshot record's Put until n of them wait: n backups that
// run at once, each having listed the snapshots before any of them wrote its own.
type snapshotGate struct {
	remote.Storage
	mu      sync.Mutex
	waiting int
	n       int
	open    chan struct{}
}

func newGate(s remote.Storage, n int) *snapshotGate {
	return &snapshotGate{Storage: s, n: n, open: make(chan struct{})}
}

func (g *snapshotGate) Put(ctx context.Context, h remote.Handle, body remote.Body) error {
	if h.Type == remote.Snapshot {
		g.mu.Lock()
		if g.waiting++; g.waiting == g.n {
			close(g.open)
		}
		g.mu.Unlock()
		select {
		case <-g.open:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	return g.Storage.Put(ctx, h, body)
}

// concurrent runs n backups of the source at once; none sees another's snapshot.
func (e *env) concurrent(n int) []digest.ID {
	e.t.Helper()
	gate := newGate(e.store, n)
	ids := make([]digest.ID, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		r := repotest.Open(e.t, gate, e.opts)
		wg.Add(1)
		go func() {
			defer wg.Done()
			res, err := archive.Run(context.Background(), r, archive.Options{Paths: []string{e.src}, Host: "h"})
			if errs[i] = err; err == nil {
				ids[i] = res.Snapshot
			}
		}()
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			e.t.Fatal(err)
		}
	}
	return ids
}

// Backups of the same host and paths that overlap fork the history: a warning, never
// damage, whether they are the first of the repository (both start a chain) or follow
// a snapshot (both name it), and the backups after them chain on as usual.
func TestConcurrentBackupsFork(t *testing.T) {
	for _, first := range []bool{true, false} {
		t.Run(fmt.Sprint("first=", first), func(t *testing.T) {
			t.Parallel()
			e := newEnv(t)
			e.tree("a")
			if !first {
				e.backup()
			}
			e.tree("b")
			e.concurrent(2)
			e.tree("c")
			e.backup()
			rep := e.clean(Options{})
			if len(rep.Warnings) != 1 || rep.Warnings[0].Kind != Fork {
				t.Fatalf("warnings %+v, want one fork", rep.Warnings)
			}
			e.clean(Options{}) // and again: the fork stays a warning
		})
	}
}

// A fork does not hide a gap: the snapshot that a later backup names, deleted without
// forget, is still reported.
func TestGapAfterForkIsDamage(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.tree("a")
	e.concurrent(2)
	e.tree("b")
	last := e.backup()
	r := e.open()
	snaps, _, err := r.LoadSnapshots(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	var named digest.ID
	for _, s := range snaps {
		if s.ID == last {
			named = *s.Previous
		}
	}
	e.del(snapHandle(named))
	rep, err := e.verify(Options{AcceptHistory: false})
	wantDamage(t, rep, err, ChainBroken)
}
