package verify

import (
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"sync"
	"testing"

	"github.com/cairn-backup/cairn/internal/digest"
	"github.com/cairn-backup/cairn/internal/repo"
	"github.com/cairn-backup/cairn/internal/repo/repotest"
	"github.com/cairn-backup/cairn/remote"
)

// A prune running beside verify --read-data may delete a marked pack after verify
// listed it and before it reads it: a pack no snapshot uses that vanishes is not
// damage. A pack a snapshot uses that vanishes still is.
func TestPackVanishingDuringReadData(t *testing.T) {
	e := newEnv(t)
	e.tree("a")
	old := e.backup()
	if err := os.RemoveAll(filepath.Join(e.src, "a")); err != nil {
		t.Fatal(err)
	}
	e.tree("b")
	e.backup()
	r := e.open()
	if err := r.ForgetSnapshots(context.Background(), []digest.ID{old}); err != nil {
		t.Fatal(err)
	}
	r.Close()
	rep := e.clean(Options{ReadData: true})
	if len(rep.Unreferenced) == 0 {
		t.Fatal("no pack left unused by forgetting a snapshot")
	}
	unused := rep.Unreferenced[0].Pack
	used := packsOf(loaded(t, e.open()), repo.DataBlob)
	used = without(used, rep.Unreferenced)
	for _, c := range []struct {
		pack   digest.ID
		damage bool
	}{{unused, false}, {used[0], true}} {
		b := e.get(packHandle(c.pack))
		store := &deleteOnRead{Storage: e.store, typ: remote.Data, name: c.pack.String()}
		rep, err := Run(context.Background(), repotest.Open(t, store, e.opts), Options{ReadData: true})
		if !store.done {
			t.Fatalf("pack %s was not read", c.pack.Short())
		}
		if c.damage {
			wantDamage(t, rep, err, PackMissing)
		} else if err != nil || len(rep.Problems) > 0 {
			t.Fatalf("an unused pack deleted during the read: %v %+v", err, rep.Problems)
		}
		e.put(packHandle(c.pack), b)
	}
}

// A forget on another client may delete a snapshot record between verify's listing
// and its read; it recorded the snapshot as forgotten first, so verify finds nothing
// wrong. A record deleted without that record is still reported.
func TestSnapshotForgottenDuringVerify(t *testing.T) {
	e := newEnv(t)
	e.tree("a")
	old := e.backup()
	e.write(map[string]int{"a/new": 100})
	e.backup()
	e.clean(Options{}) // this client has seen both
	for _, forgotten := range []bool{false, true} {
		b := e.get(remote.Handle{Type: remote.Snapshot, Name: old.String()})
		store := &deleteOnRead{Storage: e.store, typ: remote.Snapshot, name: old.String()}
		r := repotest.Open(t, store, e.opts)
		if forgotten {
			if err := r.RecordForgotten(context.Background(), []digest.ID{old}); err != nil {
				t.Fatal(err)
			}
		}
		rep, err := Run(context.Background(), r, Options{})
		if !store.done {
			t.Fatal("the snapshot record was not read")
		}
		if clean := err == nil && len(rep.Problems) == 0; clean != forgotten {
			t.Fatalf("forgotten %v: %v %+v", forgotten, err, rep.Problems)
		}
		e.put(remote.Handle{Type: remote.Snapshot, Name: old.String()}, b)
	}
}

// without returns ids less the packs of drop.
func without(ids []digest.ID, drop []Unreferenced) []digest.ID {
	var out []digest.ID
	for _, id := range ids {
		keep := true
		for _, u := range drop {
			keep = keep && u.Pack != id
		}
		if keep {
			out = append(out, id)
		}
	}
	return out
}

// deleteOnRead deletes the object name of typ when it is first read, as a prune or a
// forget does that runs between verify's listing and its read; before, if set, runs
// first (a forget that came before that prune).
type deleteOnRead struct {
	remote.Storage
	typ    remote.Type
	name   string
	before func(ctx context.Context) error
	mu     sync.Mutex
	done   bool
}

func (s *deleteOnRead) Get(ctx context.Context, h remote.Handle, offset, length int64) (io.ReadCloser, error) {
	s.mu.Lock()
	first := h.Type == s.typ && h.Name == s.name && !s.done
	s.done = s.done || first
	s.mu.Unlock()
	if first && s.before != nil {
		if err := s.before(ctx); err != nil {
			return nil, err
		}
	}
	if first {
		if err := s.Storage.Delete(ctx, h); err != nil {
			return nil, errors.Join(err, remote.ErrNotFound)
		}
	}
	return s.Storage.Get(ctx, h, offset, length)
}
