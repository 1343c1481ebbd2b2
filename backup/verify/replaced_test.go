package verify

import (
	"context"
	"slices"
	"strings"
	"testing"

	"github.com/cairn-backup/cairn/internal/digest"
	"github.com/cairn-backup/cairn/internal/repo"
	"github.com/cairn-backup/cairn/manifest"
)

// tagged returns the record of snapshot id with tags, as the tag engine writes it.
func tagged(e *env, r *repo.Repo, id digest.ID, tags ...string) []byte {
	e.t.Helper()
	plain, err := r.LoadSnapshot(context.Background(), id)
	if err != nil {
		e.t.Fatal(err)
	}
	s, err := manifest.DecodeSnapshot(plain)
	if err != nil {
		e.t.Fatal(err)
	}
	s.Tags = tags
	b, err := s.Encode()
	if err != nil {
		e.t.Fatal(err)
	}
	return b
}

func kinds(ps []Problem) []Kind {
	var out []Kind
	for _, p := range ps {
		out = append(out, p.Kind)
	}
	return out
}

// TestReplacedSnapshotKeepsChain: tagging the middle of a chain breaks nothing, for
// this client (which saw the old id) as for the chain; losing the new record is a gap.
func TestReplacedSnapshotKeepsChain(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ids := chain(e)
	e.clean(Options{}) // the client remembers all three
	r := e.open()
	done, err := r.ReplaceSnapshots(context.Background(), []repo.Rewrite{{Old: ids[1], Record: tagged(e, r, ids[1], "keep")}})
	if err != nil || len(done) != 1 {
		t.Fatalf("replace: %v %v", done, err)
	}
	if rep := e.clean(Options{}); len(rep.Warnings) != 0 {
		t.Fatalf("warnings after a finished tag: %+v", rep.Warnings)
	}
	// Another client, which saw the old id and not the new, is not alarmed either.
	if err := r.RememberSnapshots(ids); err != nil {
		t.Fatal(err)
	}
	e.clean(Options{})
	seen, _ := r.SeenSnapshots()
	if slices.Contains(seen, ids[1]) || !slices.Contains(seen, done[0].New) {
		t.Fatalf("history %v keeps the replaced id or lacks the new", seen)
	}
	e.del(snapHandle(done[0].New))
	rep, err := e.verify(Options{})
	wantDamage(t, rep, err, ChainBroken)
}

// TestReplacedLatestMissing: a replacement whose new record is gone is reported even
// when no snapshot follows it.
func TestReplacedLatestMissing(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ids := chain(e)
	r := e.open()
	done, err := r.ReplaceSnapshots(context.Background(), []repo.Rewrite{{Old: ids[2], Record: tagged(e, r, ids[2], "x")}})
	if err != nil {
		t.Fatal(err)
	}
	e.clean(Options{})
	e.del(snapHandle(done[0].New))
	if err := r.DropSeenSnapshots([]digest.ID{done[0].New}); err != nil { // a client that never saw it
		t.Fatal(err)
	}
	rep, err := e.verify(Options{})
	wantDamage(t, rep, err, ChainBroken)
}

// TestTagKilledBeforeDelete: a tag killed after it recorded the replacement and before
// it deleted the old record leaves both records: a note, not damage.
func TestTagKilledBeforeDelete(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ids := chain(e)
	r := e.open()
	ctx := context.Background()
	id, err := r.SaveSnapshot(ctx, tagged(e, r, ids[1], "keep"))
	if err != nil {
		t.Fatal(err)
	}
	if err := r.RecordReplaced(ctx, []repo.Replacement{{Old: ids[1], New: id}}); err != nil {
		t.Fatal(err)
	}
	rep := e.clean(Options{})
	if k := kinds(rep.Warnings); !slices.Equal(k, []Kind{Replaced}) {
		t.Fatalf("warnings %v, want one note about the replaced record", k)
	}
}

// TestTagKilledBeforeRecord: a tag killed after it saved the new record and before it
// recorded the replacement leaves two records of one snapshot: a fork warning.
func TestTagKilledBeforeRecord(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ids := chain(e)
	r := e.open()
	if _, err := r.SaveSnapshot(context.Background(), tagged(e, r, ids[1], "keep")); err != nil {
		t.Fatal(err)
	}
	rep := e.clean(Options{})
	unfinished := false
	for _, w := range rep.Warnings {
		if w.Kind != Fork {
			t.Fatalf("warnings %+v, want forks only", rep.Warnings)
		}
		unfinished = unfinished || strings.Contains(w.Detail, "tag command that did not finish")
	}
	if !unfinished {
		t.Fatalf("warnings %+v do not name the unfinished tag", rep.Warnings)
	}
}
