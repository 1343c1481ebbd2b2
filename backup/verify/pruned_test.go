package verify

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/cairn-backup/cairn/internal/digest"
	"github.com/cairn-backup/cairn/internal/repo"
	"github.com/cairn-backup/cairn/internal/repo/repotest"
	"github.com/cairn-backup/cairn/remote"
)

// A forget and a prune on other clients may remove a snapshot verify has listed and
// walked, and then its packs, while verify --read-data still reads them: the protocol
// allows it (the prune's grace period can end before a long verify does), so a pack
// only that snapshot used is a warning, not damage. A pack a snapshot that still
// stands uses stays damage, whether or not another one was forgotten.
func TestPackPrunedAfterForgetDuringReadData(t *testing.T) {
	for _, c := range []struct {
		name         string
		forget       bool
		livePack     bool
		damage, warn bool
	}{
		{"forgotten snapshot's pack", true, false, false, true},
		{"standing snapshot's pack", true, true, true, false},
		{"snapshot not forgotten", false, false, true, false},
	} {
		t.Run(c.name, func(t *testing.T) {
			e, old, oldOnly, live := twoSnapshots(t)
			pack := oldOnly
			if c.livePack {
				pack = live
			}
			store := &deleteOnRead{Storage: e.store, typ: remote.Data, name: pack.String()}
			if c.forget {
				store.before = func(ctx context.Context) error {
					r := repotest.Open(t, e.store, e.opts)
					defer r.Close()
					return r.ForgetSnapshots(ctx, []digest.ID{old})
				}
			}
			rep, err := Run(context.Background(), repotest.Open(t, store, e.opts), Options{ReadData: true})
			if !store.done {
				t.Fatalf("pack %s was not read", pack.Short())
			}
			if c.damage {
				wantDamage(t, rep, err, PackMissing)
			} else if err != nil || len(rep.Problems) > 0 {
				t.Fatalf("a pack pruned after its snapshot was forgotten is damage: %v %+v", err, rep.Problems)
			}
			warned := slices.ContainsFunc(rep.Warnings, func(p Problem) bool {
				return p.Kind == Forgotten && p.Object == "pack "+pack.Short() && strings.Contains(p.Detail, old.Short())
			})
			if warned != c.warn {
				t.Fatalf("warning about the pruned pack: got %v, want %v: %+v", warned, c.warn, rep.Warnings)
			}
		})
	}
}

// twoSnapshots backs up two trees that share nothing, and returns the first snapshot,
// a data pack only it uses, and a data pack the second uses.
func twoSnapshots(t *testing.T) (e *env, old, oldOnly, live digest.ID) {
	e = newEnv(t)
	e.tree("a")
	old = e.backup()
	if err := os.RemoveAll(filepath.Join(e.src, "a")); err != nil {
		t.Fatal(err)
	}
	e.tree("b")
	e.backup()
	r := loaded(t, e.open())
	defer r.Close()
	snaps, _, err := r.LoadSnapshots(context.Background())
	if err != nil || len(snaps) != 2 {
		t.Fatalf("%d snapshots: %v", len(snaps), err)
	}
	oldPacks, livePacks := dataPacks(t, r, snaps[0]), dataPacks(t, r, snaps[1])
	for id := range oldPacks {
		if !livePacks[id] {
			oldOnly = id
		}
	}
	for id := range livePacks {
		if !oldPacks[id] {
			live = id
		}
	}
	if oldOnly.IsZero() || live.IsZero() || snaps[0].ID != old {
		t.Fatal("the two snapshots share their packs")
	}
	return e, old, oldOnly, live
}

// dataPacks returns the packs holding data blobs snapshot s uses.
func dataPacks(t *testing.T, r *repo.Repo, s repo.Snapshot) map[digest.ID]bool {
	t.Helper()
	used, err := r.UsedBlobs(context.Background(), []repo.Snapshot{s})
	if err != nil {
		t.Fatal(err)
	}
	out := map[digest.ID]bool{}
	for b := range used {
		if loc, ok := r.Lookup(b.Type, b.ID); ok && b.Type == repo.DataBlob {
			out[loc.Pack] = true
		}
	}
	return out
}
