package archive

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/cairn-backup/cairn/internal/repo/repotest"
	"github.com/cairn-backup/cairn/remote"
)

// indexFirst is a store whose snapshot listing waits until the index listing has
// begun: a backup that lists the snapshots and then loads the index, one after the
// other, fails on it.
type indexFirst struct {
	remote.Storage
	once    sync.Once
	started chan struct{}
}

func (s *indexFirst) List(ctx context.Context, t remote.Type, fn func(remote.Info) error) error {
	switch t {
	case remote.Index:
		s.once.Do(func() { close(s.started) })
	case remote.Snapshot:
		select {
		case <-s.started:
		case <-time.After(10 * time.Second):
			return errors.New("the snapshot listing waited for the index listing in vain")
		}
	}
	return s.Storage.List(ctx, t, fn)
}

// A no-change backup lists the snapshots and loads the index at once (on a distant
// bucket, one round trip less), and still makes the snapshot the tree needs.
func TestBackupListsSnapshotsBesideIndex(t *testing.T) {
	e := newEnv(t)
	src := t.TempDir()
	writeTree(t, src, 3)
	first, _ := e.backup(Options{Paths: []string{src}})
	store := &indexFirst{Storage: e.store, started: make(chan struct{})}
	r := repotest.Open(t, store, e.opts)
	res, err := Run(context.Background(), r, Options{Paths: []string{src}, Host: "test-host"})
	if err != nil {
		t.Fatal(err)
	}
	if res.Root != first.Root || res.Parent == nil {
		t.Fatalf("second backup: root %v, parent %v; want root %v with a parent", res.Root, res.Parent, first.Root)
	}
	if res.Stats.BytesRead != 0 {
		t.Fatalf("second backup read %d bytes of unchanged files", res.Stats.BytesRead)
	}
}
