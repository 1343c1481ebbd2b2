package verify

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/cairn-backup/cairn/internal/digest"
	"github.com/cairn-backup/cairn/manifest"
	"github.com/cairn-backup/cairn/remote"
)

// chain backs up three times, changing the tree each time, and returns the snapshots.
func chain(e *env) []digest.ID {
	var ids []digest.ID
	for _, dir := range []string{"a", "b", "c"} {
		e.tree(dir)
		ids = append(ids, e.backup())
	}
	return ids
}

func snapHandle(id digest.ID) remote.Handle {
	return remote.Handle{Type: remote.Snapshot, Name: id.String()}
}

func TestSnapshotRemovedFromChain(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ids := chain(e)
	e.clean(Options{})
	e.del(snapHandle(ids[1]))
	rep, err := e.verify(Options{})
	wantDamage(t, rep, err, ChainBroken)
	if hasProblem(rep, RolledBack) {
		t.Fatalf("a gap in the middle reported as a rollback: %+v", rep.Problems)
	}
}

func TestLatestSnapshotRemovedIsRollback(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ids := chain(e)
	// The backups themselves told the client which snapshots they made.
	e.del(snapHandle(ids[2]))
	rep, err := e.verify(Options{})
	wantDamage(t, rep, err, RolledBack)

	// Told that the deletion was intended, verify takes the history as it is.
	e.clean(Options{AcceptHistory: true})
	e.clean(Options{})
}

func TestForgottenSnapshotsAreNoDamage(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ids := chain(e)
	e.clean(Options{})
	r := e.open()
	if err := r.RecordForgotten(context.Background(), []digest.ID{ids[0], ids[2]}); err != nil {
		t.Fatal(err)
	}
	e.del(snapHandle(ids[0]))
	e.del(snapHandle(ids[2]))
	rep := e.clean(Options{})
	if len(rep.Warnings) != 1 || rep.Warnings[0].Kind != Forgotten {
		t.Fatalf("warnings %+v, want one about the forgotten predecessor", rep.Warnings)
	}
	seen, _ := r.SeenSnapshots()
	if len(seen) != 1 || seen[0] != ids[1] {
		t.Fatalf("client remembers %v, want only %s", seen, ids[1].Short())
	}
}

func TestDamagedSnapshotRecord(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ids := chain(e)
	b := e.get(snapHandle(ids[1]))
	b[len(b)-5] ^= 1
	e.put(snapHandle(ids[1]), b)
	rep, err := e.verify(Options{})
	wantDamage(t, rep, err, SnapshotDamaged)
	if hasProblem(rep, ChainBroken) {
		t.Fatalf("a damaged record also reported as a missing one: %+v", rep.Problems)
	}
}

// TestFork: a snapshot naming an older predecessor than the latest of its group (two
// backups of the same paths at once) is a warning, not damage.
func TestFork(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ids := chain(e)
	r := e.open()
	plain, err := r.LoadSnapshot(context.Background(), ids[2])
	if err != nil {
		t.Fatal(err)
	}
	s, err := manifest.DecodeSnapshot(plain)
	if err != nil {
		t.Fatal(err)
	}
	s.Previous, s.Time = &ids[0], s.Time.Add(time.Second)
	b, _ := s.Encode()
	if _, err := r.SaveSnapshot(context.Background(), b); err != nil {
		t.Fatal(err)
	}
	rep := e.clean(Options{})
	if len(rep.Warnings) != 1 || rep.Warnings[0].Kind != Fork {
		t.Fatalf("warnings %+v, want one fork", rep.Warnings)
	}
	s.Previous = nil
	s.Time = s.Time.Add(time.Hour) // long after the others ended: no concurrent backup
	b, _ = s.Encode()
	if _, err := r.SaveSnapshot(context.Background(), b); err != nil {
		t.Fatal(err)
	}
	if _, err := e.verify(Options{}); !errors.Is(err, ErrDamage) {
		t.Fatalf("a chain restarted in the middle of a history: %v", err)
	}
}
