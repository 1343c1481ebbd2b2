package verify

import (
	"context"
	"slices"
	"sync"
	"testing"

	"github.com/cairn-backup/cairn/backup/archive"
	"github.com/cairn-backup/cairn/internal/digest"
	"github.com/cairn-backup/cairn/internal/repo"
	"github.com/cairn-backup/cairn/internal/repo/repotest"
	"github.com/cairn-backup/cairn/remote"
)

// A prune beside verify may rewrite the index without a pack and delete it between
// verify's load of the index and its listing of data/ (prune steps 10 and 11): the
// pack is then indexed for verify and absent from its listing, but no segment names
// it any more. That is no damage unless a snapshot that still stands needs it. A pack
// absent while a segment still names it is lost: damage, whether or not a snapshot
// uses it.
func TestPackPrunedBeforeListing(t *testing.T) {
	for _, c := range []struct {
		name         string
		reindex      bool // the prune rewrote the index without the pack
		livePack     bool // the pack a standing snapshot uses
		forgetDuring bool // forget its snapshot after verify listed the snapshots
		damage       bool
		warn         Kind
	}{
		{"unused pack pruned", true, false, false, false, PackPruned},
		{"forgotten snapshot's pack pruned", true, false, true, false, Forgotten},
		{"standing snapshot's pack pruned", true, true, false, true, ""},
		{"unused pack lost", false, false, false, true, ""},
		{"standing snapshot's pack lost", false, true, false, true, ""},
	} {
		t.Run(c.name, func(t *testing.T) {
			e, old, oldOnly, live := twoSnapshots(t)
			pack := oldOnly
			if c.livePack {
				pack = live
			}
			if !c.forgetDuring {
				forget(t, e, old)
			}
			store := &pruneOnList{Storage: e.store, before: func(ctx context.Context) error {
				r := repotest.Open(t, e.store, e.opts)
				defer r.Close()
				if c.forgetDuring {
					if err := r.ForgetSnapshots(ctx, []digest.ID{old}); err != nil {
						return err
					}
				}
				if c.reindex {
					segs, _, _, err := r.IndexEntries(ctx)
					if err != nil {
						return err
					}
					if err := r.RewriteIndex(ctx, segs, map[digest.ID]bool{pack: true}); err != nil {
						return err
					}
				}
				return r.DeletePacks(ctx, []digest.ID{pack})
			}}
			rep, err := Run(context.Background(), repotest.Open(t, store, e.opts), Options{})
			if !store.done {
				t.Fatal("data/ was not listed")
			}
			if c.damage {
				wantDamage(t, rep, err, PackMissing)
			} else if err != nil || len(rep.Problems) > 0 {
				t.Fatalf("a pack pruned before verify listed data/ is damage: %v %+v", err, rep.Problems)
			}
			warned := slices.ContainsFunc(rep.Warnings, func(p Problem) bool {
				return p.Kind == c.warn && p.Object == "pack "+pack.Short()
			})
			if warned != (c.warn != "") {
				t.Fatalf("warning %q about pack %s: got %v: %+v", c.warn, pack.Short(), warned, rep.Warnings)
			}
		})
	}
}

func forget(t *testing.T, e *env, id digest.ID) {
	t.Helper()
	r := e.open()
	defer r.Close()
	if err := r.ForgetSnapshots(context.Background(), []digest.ID{id}); err != nil {
		t.Fatal(err)
	}
}

// pruneOnList runs before when data/ is first listed, as a prune does that deletes
// packs between verify's load of the index and its listing of data/.
type pruneOnList struct {
	remote.Storage
	before func(ctx context.Context) error
	mu     sync.Mutex
	done   bool
}

func (s *pruneOnList) List(ctx context.Context, t remote.Type, fn func(remote.Info) error) error {
	s.mu.Lock()
	first := t == remote.Data && !s.done
	s.done = s.done || first
	s.mu.Unlock()
	if first {
		if err := s.before(ctx); err != nil {
			return err
		}
	}
	return s.Storage.List(ctx, t, fn)
}

// Two hosts that back up the same data at once both store it: every blob is in two
// packs, and verify's index resolves each to one of them. A prune may keep the other
// copy and delete the one verify resolved to, while verify --read-data runs: the
// standing snapshots lose nothing, so that is no damage. If the other copy is gone as
// well, it is.
func TestPackWithCopyVanishingDuringReadData(t *testing.T) {
	for _, c := range []struct {
		name        string
		copyGoneToo bool
	}{{"other copy kept", false}, {"other copy gone too", true}} {
		t.Run(c.name, func(t *testing.T) {
			e := twoHostsAtOnce(t)
			store := &deleteOnRead{Storage: e.store, typ: remote.Data}
			r := repotest.Open(t, store, e.opts)
			if _, err := r.LoadIndexReport(context.Background()); err != nil {
				t.Fatal(err)
			}
			pack, other := resolvedAndCopy(t, r)
			store.name = pack.String()
			if c.copyGoneToo {
				store.before = func(ctx context.Context) error { return e.store.Delete(ctx, packHandle(other)) }
			}
			rep, err := Run(context.Background(), r, Options{ReadData: true})
			if !store.done {
				t.Fatalf("pack %s was not read", pack.Short())
			}
			if c.copyGoneToo {
				wantDamage(t, rep, err, PackMissing)
				return
			}
			if err != nil || len(rep.Problems) > 0 {
				t.Fatalf("a pack whose blobs are all in another pack, deleted during the read: %v %+v", err, rep.Problems)
			}
			if !slices.ContainsFunc(rep.Warnings, func(p Problem) bool { return p.Kind == PackPruned && p.Object == "pack "+pack.Short() }) {
				t.Fatalf("no %s warning about pack %s: %+v", PackPruned, pack.Short(), rep.Warnings)
			}
		})
	}
}

// twoHostsAtOnce backs up one tree from two hosts whose sessions loaded the index
// before either stored anything, as two backups that run at once: each stores it all.
func twoHostsAtOnce(t *testing.T) *env {
	e := newEnv(t)
	e.tree("a")
	r1, r2 := loaded(t, e.open()), loaded(t, e.open())
	for i, r := range []*repo.Repo{r1, r2} {
		opts := archive.Options{Paths: []string{e.src}, Host: []string{"h1", "h2"}[i]}
		if _, err := archive.Run(context.Background(), r, opts); err != nil {
			t.Fatal(err)
		}
		r.Close()
	}
	return e
}

// resolvedAndCopy returns a data pack r's index resolves a blob to, and another pack
// that blob is also stored in.
func resolvedAndCopy(t *testing.T, r *repo.Repo) (digest.ID, digest.ID) {
	t.Helper()
	var b repo.Blob
	r.EachBlob(func(x repo.Blob) bool {
		b = x
		return x.Type != repo.DataBlob
	})
	copies, err := r.IndexedNow(context.Background(), func(x repo.Blob) bool {
		return x.Type == b.Type && x.ID == b.ID && x.Pack != b.Pack
	})
	if err != nil || b.Type != repo.DataBlob || len(copies) == 0 {
		t.Fatalf("data blob %s stored once: %v", b.ID.Short(), err)
	}
	return b.Pack, copies[0].Pack
}
