package verify

import (
	"slices"
	"strings"
	"testing"

	"github.com/cairn-backup/cairn/internal/digest"
	"github.com/cairn-backup/cairn/internal/repo"
)

// healed backs up a tree, deletes the first pack holding blobs of type kind, and backs
// up the same tree again: the second backup stores the lost blobs again in new packs,
// and the index names two copies of each, one in the pack that is gone. It returns the
// pack deleted and the other packs of the first backup.
func healed(t *testing.T, kind repo.BlobType) (*env, digest.ID, []digest.ID) {
	t.Helper()
	e := newEnv(t)
	e.tree("a")
	e.tree("b")
	e.backup()
	r := loaded(t, e.open())
	p := packsOf(r, kind)[0]
	var others []digest.ID
	r.EachPack(func(id digest.ID, _ uint64) bool {
		if id != p {
			others = append(others, id)
		}
		return true
	})
	r.Close()
	e.del(packHandle(p))
	e.backup()
	return e, p, others
}

func hasGone(rep *Report, p digest.ID) bool {
	return slices.ContainsFunc(rep.Warnings, func(w Problem) bool {
		return w.Kind == PackGone && w.Object == "pack "+p.Short() && strings.Contains(w.Detail, "repair index")
	})
}

// TestHealedPackIsNoDamage: after a backup stored again every blob of a lost pack,
// verify resolves each blob to its copy in a pack the storage has, as a restore does:
// no damage, no file affected, and the lost pack named in a warning.
func TestHealedPackIsNoDamage(t *testing.T) {
	t.Parallel()
	for _, kind := range []repo.BlobType{repo.DataBlob, repo.TreeBlob} {
		e, p, _ := healed(t, kind)
		for _, read := range []bool{false, true} {
			rep, err := e.verify(Options{ReadData: read})
			if err != nil || len(rep.Problems) > 0 || len(rep.Affected) > 0 || len(rep.BadBlobs) > 0 {
				t.Fatalf("%v pack %s healed, read-data %v: %v\nproblems %+v\naffected %+v", kind, p.Short(), read, err, rep.Problems, rep.Affected)
			}
			if !hasGone(rep, p) {
				t.Fatalf("%v pack %s healed, read-data %v: warnings %+v, want %s naming it", kind, p.Short(), read, rep.Warnings, PackGone)
			}
		}
	}
}

// TestHealedAndLostPacks: a lost pack stored again elsewhere stays a warning beside a
// lost pack whose blobs are nowhere else, which is damage naming exactly the files that
// need it, in both snapshots.
func TestHealedAndLostPacks(t *testing.T) {
	t.Parallel()
	e, p, others := healed(t, repo.DataBlob)
	r := e.open()
	r.PresentPacksOnly() // the truth as a restore reads it
	loaded(t, r)
	var lost digest.ID // a data pack of the first backup, not the one stored again
	for _, q := range packsOf(r, repo.DataBlob) {
		if q != p && slices.Contains(others, q) {
			lost = q
			break
		}
	}
	if lost.IsZero() {
		t.Fatal("the first backup left no other data pack")
	}
	want := groundTruth(t, r, blobsAt(r, lost, 0, 1<<40))
	r.Close()
	e.del(packHandle(lost))
	rep, err := e.verify(Options{})
	wantDamage(t, rep, err, PackMissing)
	sameKeys(t, "healed pack beside a lost one", affectedKeys(rep), want)
	if !hasGone(rep, p) || slices.ContainsFunc(rep.Problems, func(q Problem) bool { return q.Object == "pack "+p.Short() }) {
		t.Fatalf("the healed pack %s: warnings %+v, problems %+v", p.Short(), rep.Warnings, rep.Problems)
	}
}
