package archive

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cairn-backup/cairn/internal/digest"
	"github.com/cairn-backup/cairn/internal/repo"
	"github.com/cairn-backup/cairn/internal/repo/repotest"
	"github.com/cairn-backup/cairn/remote"
	"github.com/cairn-backup/cairn/remote/remotetest"
)

// noteFirst is a store that records whether packs or marks were listed before the
// storage acknowledged a run note, and holds the note's PUT for a while so that a
// listing sent too soon would be seen.
type noteFirst struct {
	remote.Storage
	mu      sync.Mutex
	stored  bool     // a run note's PUT returned
	early   []string // listings of packs or marks sent before that
	lockErr error    // returned by the note's PUT
}

func (s *noteFirst) Put(ctx context.Context, h remote.Handle, body remote.Body) error {
	if h.Type != remote.Lock {
		return s.Storage.Put(ctx, h, body)
	}
	time.Sleep(50 * time.Millisecond)
	if s.lockErr != nil {
		return s.lockErr
	}
	err := s.Storage.Put(ctx, h, body)
	s.mu.Lock()
	s.stored = true
	s.mu.Unlock()
	return err
}

func (s *noteFirst) List(ctx context.Context, t remote.Type, fn func(remote.Info) error) error {
	if t == remote.Mark || t == remote.Data {
		s.mu.Lock()
		if !s.stored {
			s.early = append(s.early, string(t))
		}
		s.mu.Unlock()
	}
	return s.Storage.List(ctx, t, fn)
}

// A backup that lists early (during the key derivation) still lists packs and marks
// only once the storage acknowledged its run note: a prune that deletes at once,
// having listed no note, wrote its mark before that and the backup sees it; so no
// backup ever reuses a pack a prune may delete at once (docs/prune.md, "Deleting at
// once"). A note that cannot be stored fails the backup, which writes nothing.
func TestBackupListsMarksOnlyAfterItsNote(t *testing.T) {
	e := newEnv(t)
	src := t.TempDir()
	writeTree(t, src, 7)
	e.backup(Options{Paths: []string{src}})
	st := &noteFirst{Storage: e.store}
	opts := e.opts
	opts.EarlyLists = true
	if _, err := Run(context.Background(), repotest.Open(t, st, opts), Options{Paths: []string{src}, Host: "test-host"}); err != nil {
		t.Fatal(err)
	}
	if !st.stored || len(st.early) > 0 {
		t.Fatalf("note stored: %v; listed before it: %v", st.stored, st.early)
	}
	before := e.packIDs()
	src = t.TempDir()
	writeTree(t, src, 8)
	st = &noteFirst{Storage: e.store, lockErr: errors.New("refused")}
	_, err := Run(context.Background(), repotest.Open(t, st, opts), Options{Paths: []string{src}, Host: "test-host"})
	if err == nil || len(st.early) > 0 {
		t.Fatalf("backup whose note failed: %v; listed: %v", err, st.early)
	}
	if after := e.packIDs(); len(after) != len(before) {
		t.Fatalf("a backup whose run note failed stored %d packs", len(after)-len(before))
	}
}

// noSnapshotInto fails unless the backup that returned res and err withdrew its
// snapshot (ErrOverGrace, one snapshot left) or made one that uses none of packs.
func noSnapshotInto(t *testing.T, open func() *repo.Repo, res *Result, err error, packs []digest.ID) {
	t.Helper()
	if err != nil {
		if !errors.Is(err, repo.ErrOverGrace) {
			t.Fatalf("backup: %v, want it to withdraw its snapshot (ErrOverGrace)", err)
		}
		if ids, lerr := open().Snapshots(t.Context()); lerr != nil || len(ids) != 1 {
			t.Fatalf("after the withdrawn backup: %d snapshots (%v), want only the first", len(ids), lerr)
		}
		return
	}
	r := open()
	r.PresentPacksOnly()
	used, err := r.UsedBlobs(t.Context(), []repo.Snapshot{{ID: res.Snapshot, Snapshot: snapshotTree(t, r, res.Snapshot)}})
	if err != nil {
		t.Fatal(err)
	}
	old := map[digest.ID]bool{}
	for _, id := range packs {
		old[id] = true
	}
	for b := range used {
		if loc, ok := r.Lookup(b.Type, b.ID); ok && old[loc.Pack] {
			t.Fatalf("the new snapshot uses blob %s in pack %s, which a prune marked and may delete at once", b.ID.Short(), loc.Pack.Short())
		}
	}
}

// lostRecord is a store, checked like S3, that acknowledges the first snapshot record
// after drop is set and stores nothing; when the run note is deleted, a prune marks.
type lostRecord struct {
	*remotetest.ConfirmingMem
	drop, lost atomic.Bool
	once       sync.Once
	mark       func()
}

func (s *lostRecord) PutUnconfirmed(ctx context.Context, h remote.Handle, body remote.Body) (remote.Sent, error) {
	if h.Type == remote.Snapshot && s.drop.Load() && s.lost.CompareAndSwap(false, true) {
		return remote.Sent{Handle: h, Size: body.Size()}, nil
	}
	return s.ConfirmingMem.PutUnconfirmed(ctx, h, body)
}

func (s *lostRecord) Delete(ctx context.Context, h remote.Handle) error {
	err := s.ConfirmingMem.Delete(ctx, h)
	if h.Type == remote.Lock && s.drop.Load() {
		s.once.Do(s.mark)
	}
	return err
}

// The run note goes beside the snapshot record's check. A record the check finds
// missing is stored only when sent again, after the note may be gone: a prune that
// marks then, seeing neither, may delete at once, so the check after writing that
// follows honours its mark however short the run (docs/prune.md).
func TestRecordSentAgainAfterTheNoteWent(t *testing.T) {
	opts := repotest.Options(t, 0)
	st := &lostRecord{ConfirmingMem: remotetest.NewConfirmingMem()}
	if _, err := repo.Init(t.Context(), st, opts); err != nil {
		t.Fatal(err)
	}
	open := func() *repo.Repo { return repotest.Open(t, st.ConfirmingMem, opts) }
	src := t.TempDir()
	writeTree(t, src, 8)
	if _, err := Run(context.Background(), open(), Options{Paths: []string{src}, Host: "test-host"}); err != nil {
		t.Fatal(err)
	}
	var packs []digest.ID
	err := st.List(t.Context(), remote.Data, func(i remote.Info) error {
		id, err := digest.Parse(i.Name)
		packs = append(packs, id)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	st.mark = func() {
		if _, err := open().SaveMark(context.Background(), 24*time.Hour, packs); err != nil {
			t.Error(err)
		}
	}
	st.drop.Store(true)
	res, err := Run(context.Background(), repotest.Open(t, st, opts), Options{Paths: []string{src}, Host: "test-host"})
	if !st.lost.Load() {
		t.Fatal("no snapshot record was lost")
	}
	noSnapshotInto(t, open, res, err, packs)
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
