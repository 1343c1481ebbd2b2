package prune

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cairn-backup/cairn/backup/archive"
	"github.com/cairn-backup/cairn/backup/restore"
	"github.com/cairn-backup/cairn/backup/verify"
	"github.com/cairn-backup/cairn/internal/digest"
	"github.com/cairn-backup/cairn/internal/repo"
	"github.com/cairn-backup/cairn/internal/repo/repotest"
	"github.com/cairn-backup/cairn/remote"
	"github.com/cairn-backup/cairn/remote/remotetest"
)

// env is a repository in memory, with a storage clock the test moves, and a source
// tree whose files the test writes.
type env struct {
	t     *testing.T
	store *remotetest.Faulty
	opts  repo.Options
	src   string
	rng   *rand.Rand
	clock atomic.Int64 // the storage's time, unix nanoseconds
	files map[string][]byte
}

func newEnv(t *testing.T) *env {
	e := &env{t: t, src: filepath.Join(t.TempDir(), "src"), rng: rand.New(rand.NewPCG(1, 2)),
		opts: repotest.Options(t, 1<<20), files: map[string][]byte{}}
	e.clock.Store(time.Date(2026, 6, 1, 0, 0, 0, 0, time.UTC).UnixNano())
	mem := remotetest.NewMem()
	mem.Now = func() time.Time { return time.Unix(0, e.clock.Load()) }
	e.store = remotetest.NewFaulty(mem)
	if _, err := repo.Init(t.Context(), e.store, e.opts); err != nil {
		t.Fatal(err)
	}
	return e
}

func (e *env) later(d time.Duration) { e.clock.Add(int64(d)) }

func (e *env) open() *repo.Repo { return repotest.Open(e.t, e.store, e.opts) }

// put writes a file of random bytes; remove deletes one.
func (e *env) put(name string, size int) {
	e.t.Helper()
	data := make([]byte, size)
	for i := range data {
		data[i] = byte(e.rng.Uint32())
	}
	p := filepath.Join(e.src, name)
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		e.t.Fatal(err)
	}
	if err := os.WriteFile(p, data, 0o644); err != nil {
		e.t.Fatal(err)
	}
	e.files[name] = data
}

func (e *env) remove(name string) {
	if err := os.Remove(filepath.Join(e.src, name)); err != nil {
		e.t.Fatal(err)
	}
	delete(e.files, name)
}

func (e *env) backup() digest.ID {
	e.t.Helper()
	r := e.open()
	defer r.Close()
	res, err := archive.Run(context.Background(), r, archive.Options{Paths: []string{e.src}, Host: "h"})
	if err != nil {
		e.t.Fatal(err)
	}
	return res.Snapshot
}

// forget removes snapshot records as forget does: recorded first, then deleted.
func (e *env) forget(ids ...digest.ID) {
	e.t.Helper()
	r := e.open()
	defer r.Close()
	if err := r.RecordForgotten(e.t.Context(), ids); err != nil {
		e.t.Fatal(err)
	}
	for _, id := range ids {
		if err := e.store.Delete(e.t.Context(), remote.Handle{Type: remote.Snapshot, Name: id.String()}); err != nil {
			e.t.Fatal(err)
		}
	}
	if err := r.DropSeenSnapshots(ids); err != nil {
		e.t.Fatal(err)
	}
}

func (e *env) prune(opts Options) *Result {
	e.t.Helper()
	r := e.open()
	defer r.Close()
	res, err := Run(e.t.Context(), r, opts)
	if err != nil {
		e.t.Fatalf("prune: %v", err)
	}
	return res
}

func (e *env) packs() int {
	n := 0
	err := e.store.List(e.t.Context(), remote.Data, func(remote.Info) error { n++; return nil })
	if err != nil {
		e.t.Fatal(err)
	}
	return n
}

// check restores the snapshot and compares it with want, then verifies every pack.
func (e *env) check(snap digest.ID, want map[string][]byte) {
	e.t.Helper()
	r := e.open()
	defer r.Close()
	target := e.t.TempDir()
	snaps, _, err := r.LoadSnapshots(e.t.Context())
	if err != nil {
		e.t.Fatal(err)
	}
	s, err := repo.Find(snaps, snap.String())
	if err != nil {
		e.t.Fatal(err)
	}
	if _, err := restore.Run(e.t.Context(), r, s, restore.Options{Target: target}); err != nil {
		e.t.Fatalf("restore %s: %v", snap.Short(), err)
	}
	for name, data := range want {
		got, err := os.ReadFile(filepath.Join(target, e.src, name))
		if err != nil || !bytes.Equal(got, data) {
			e.t.Errorf("restored %s: %v, %d bytes, want %d equal bytes", name, err, len(got), len(data))
		}
	}
	rep, err := verify.Run(e.t.Context(), e.open(), verify.Options{ReadData: true})
	if err != nil || len(rep.Problems) > 0 {
		e.t.Fatalf("verify after prune: %v %+v", err, rep.Problems)
	}
}

func TestPruneDeletesWhatForgetFreed(t *testing.T) {
	e := newEnv(t)
	e.put("old", 300_000)
	s1 := e.backup()
	e.remove("old")
	e.put("new", 300_000)
	s2 := e.backup()
	before := e.packs()
	e.forget(s1)
	res := e.prune(Options{MaxUnused: -1})
	if !res.AtOnce || len(res.Deleted) == 0 || res.Freed < 300_000 {
		t.Fatalf("no backup running: want the freed packs deleted at once, got %+v", res)
	}
	if after := e.packs(); after != before-len(res.Deleted) {
		t.Errorf("%d packs after, want %d", after, before-len(res.Deleted))
	}
	e.check(s2, e.files)
	// A second prune has nothing to do.
	if res := e.prune(Options{MaxUnused: -1}); len(res.Deleted) > 0 || res.Marked > 0 {
		t.Errorf("second prune: %+v", res)
	}
}

// With another run's note fresh, the packs are only marked; a prune a grace period
// later deletes them.
func TestPruneWaitsForGraceWhileABackupRuns(t *testing.T) {
	e := newEnv(t)
	e.put("old", 300_000)
	s1 := e.backup()
	e.remove("old")
	e.put("new", 300_000)
	s2 := e.backup()
	e.forget(s1)
	other, err := e.open().StartRun(t.Context(), "backup") // a backup running elsewhere
	if err != nil {
		t.Fatal(err)
	}
	res := e.prune(Options{MaxUnused: -1})
	if res.AtOnce || len(res.Deleted) > 0 || res.Marked == 0 {
		t.Fatalf("a backup is running: want packs marked, none deleted; got %+v", res)
	}
	e.later(23 * time.Hour)
	if res := e.prune(Options{MaxUnused: -1}); len(res.Deleted) > 0 {
		t.Fatalf("within the grace period: deleted %d packs", len(res.Deleted))
	}
	e.later(2 * time.Hour)
	res = e.prune(Options{MaxUnused: -1})
	if int64(len(res.Deleted)) != res.Plan.Stats.Packs[Delete] || len(res.Deleted) == 0 {
		t.Fatalf("after the grace period: want the marked packs deleted, got %+v", res)
	}
	if err := other.End(t.Context()); err != nil {
		t.Fatal(err)
	}
	e.check(s2, e.files)
	marks, err := e.open().LoadMarks(t.Context())
	if err != nil || len(marks) != 0 {
		t.Errorf("marks left after their packs went: %v %v", marks, err)
	}
}

// A listing that fails, or one that lost a snapshot this client saw, deletes nothing.
func TestPruneRefusesUntrustedListings(t *testing.T) {
	e := newEnv(t)
	e.put("a", 200_000)
	s1 := e.backup()
	e.put("b", 200_000)
	e.backup()
	// The snapshot record vanishes without a forget record: rolled back or cut short.
	h := remote.Handle{Type: remote.Snapshot, Name: s1.String()}
	rec, err := remote.ReadAll(t.Context(), e.store, h, 0, 0, 1<<20)
	if err != nil {
		t.Fatal(err)
	}
	if err := e.store.Delete(t.Context(), h); err != nil {
		t.Fatal(err)
	}
	before := e.packs()
	if _, err := Run(t.Context(), e.open(), Options{}); !errors.Is(err, ErrUntrusted) {
		t.Fatalf("prune with a snapshot gone unannounced: err %v, want ErrUntrusted", err)
	}
	if e.packs() != before {
		t.Fatal("a refused prune deleted packs")
	}
	if err := e.store.Put(t.Context(), h, remote.Bytes(rec)); err != nil {
		t.Fatal(err)
	}
	faults := []remotetest.Fault{
		{Op: remotetest.OpList, Type: remote.Data, Kind: remotetest.Fail, Err: errors.New("500")},
		{Op: remotetest.OpList, Type: remote.Data, Kind: remotetest.ListShort, Keep: 1},
		{Op: remotetest.OpList, Type: remote.Data, Kind: remotetest.ListShort},
		{Op: remotetest.OpList, Type: remote.Snapshot, Kind: remotetest.ListShort},
		{Op: remotetest.OpList, Type: remote.Index, Kind: remotetest.Fail, Err: errors.New("404")},
		{Op: remotetest.OpList, Type: remote.Index, Kind: remotetest.ListShort},
		{Op: remotetest.OpList, Type: remote.Mark, Kind: remotetest.Fail, Err: errors.New("reset")},
	}
	e.forget(s1) // something for prune to delete if it went ahead
	for _, f := range faults {
		f.Nth = 1
		id := e.store.Add(f)
		if _, err := Run(t.Context(), e.open(), Options{}); err == nil {
			t.Errorf("fault %v: prune went on", f)
		}
		if e.store.Fired(id) != 1 {
			t.Errorf("fault %v never fired", f)
		}
		if e.packs() != before {
			t.Fatalf("fault %v: a failed prune deleted packs", f)
		}
	}
}

// A pack half of whose blobs no snapshot needs is rewritten: its used blobs are copied
// into a new pack, and the old one goes.
func TestPruneRepacksHalfUsedPacks(t *testing.T) {
	e := newEnv(t)
	for i := range 20 { // small files: kept and dropped ones share packs
		e.put(fmt.Sprintf("keep%02d", i), 15_000)
		e.put(fmt.Sprintf("drop%02d", i), 15_000)
	}
	s1 := e.backup()
	for i := range 20 {
		e.remove(fmt.Sprintf("drop%02d", i))
	}
	s2 := e.backup()
	e.forget(s1)
	before := e.storedBytes()
	res := e.prune(Options{MaxUnused: -1})
	if res.Repacked == 0 || !res.AtOnce {
		t.Fatalf("want the half-used pack repacked and the old one deleted at once, got %+v", res)
	}
	if after := e.storedBytes(); after > before-250_000 {
		t.Errorf("pack bytes %d → %d: the dropped files' 300 kB were not freed", before, after)
	}
	e.check(s2, e.files)
	if res := e.prune(Options{MaxUnused: -1}); res.Repacked > 0 || len(res.Deleted) > 0 || res.Marked > 0 {
		t.Errorf("second prune has work left: %+v", res)
	}
}

func (e *env) storedBytes() int64 {
	var n int64
	err := e.store.List(e.t.Context(), remote.Data, func(i remote.Info) error { n += i.Size; return nil })
	if err != nil {
		e.t.Fatal(err)
	}
	return n
}

// A client with no history of the repository (a new host) still refuses a listing
// that lacks a snapshot in the middle of a chain: the next one names it as previous.
func TestPruneRefusesChainGapWithoutHistory(t *testing.T) {
	e := newEnv(t)
	var snaps []digest.ID
	for i := range 3 {
		e.put(fmt.Sprintf("f%d", i), 100_000)
		snaps = append(snaps, e.backup())
	}
	if err := e.store.Delete(t.Context(), remote.Handle{Type: remote.Snapshot, Name: snaps[1].String()}); err != nil {
		t.Fatal(err)
	}
	e.opts.StateDir = t.TempDir() // a new host: nothing seen before
	before := e.packs()
	if _, err := Run(t.Context(), e.open(), Options{}); !errors.Is(err, ErrUntrusted) {
		t.Fatalf("prune on a chain with a gap: err %v, want ErrUntrusted", err)
	}
	if e.packs() != before {
		t.Fatal("a refused prune deleted packs")
	}
}

// A blob used by a kept snapshot and stored twice, once in a pack prune repacks and
// once in a pack it finds unneeded, must survive both: the copy that decides whether
// it is "already stored" must be in a pack that stays. (Found by scripts/bench prune:
// the second prune failed with "blob not in index".)
func TestRepackWithDuplicateInUnneededPack(t *testing.T) {
	for round := range 6 {
		e := newEnv(t)
		for i := range 12 {
			e.put(fmt.Sprintf("keep%02d", i), 15_000)
			e.put(fmt.Sprintf("drop%02d", i), 15_000)
		}
		s1 := e.backup()
		e.duplicate("keep00") // a second copy of one used blob, in a pack of its own
		for i := range 12 {
			e.remove(fmt.Sprintf("drop%02d", i))
		}
		s2 := e.backup()
		e.forget(s1)
		res := e.prune(Options{MaxUnused: -1})
		if res.Repacked == 0 {
			t.Fatalf("round %d: nothing repacked: %+v", round, res)
		}
		e.check(s2, e.files)
	}
}

// duplicate stores the content of a file again as a data blob, in a new pack.
func (e *env) duplicate(name string) {
	e.t.Helper()
	r := e.open()
	defer r.Close()
	if err := r.LoadIndex(e.t.Context()); err != nil {
		e.t.Fatal(err)
	}
	all := map[digest.ID]bool{}
	r.EachPack(func(id digest.ID, _ uint64) bool { all[id] = true; return true })
	w := r.NewWriter(e.t.Context(), repo.WriterOptions{Replacing: all})
	if _, _, err := w.SaveBlob(e.t.Context(), repo.DataBlob, e.files[name]); err != nil {
		e.t.Fatal(err)
	}
	if err := w.Flush(e.t.Context()); err != nil {
		e.t.Fatal(err)
	}
}
