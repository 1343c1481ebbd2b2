package repo

import (
	"testing"

	"github.com/cairn-backup/cairn/remote/remotetest"
)

// The listings Open makes early serve a backup's first loads only: its second load,
// and every load of a session that reuses no stored packs only (a prune, a forget),
// list afresh and see what was written after Open.
func TestEarlyListingsServeOnlyABackupsFirstLoad(t *testing.T) {
	st := remotetest.NewMem()
	opts := testOptions(t, "pw")
	initRepo(t, st, opts)
	opts.EarlyLists = true
	count := func(r *Repo) int {
		t.Helper()
		snaps, _, err := r.LoadSnapshots(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		return len(snaps)
	}
	open := func() *Repo {
		r, err := Open(t.Context(), st, opts)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = r.Close() })
		return r
	}
	backup, other := open(), open()
	backup.StoredPacksOnly()
	_ = backup.early.g.Wait() // the listings made as it opened are done
	if _, err := other.SaveSnapshot(t.Context(), testRecord(t)); err != nil {
		t.Fatal(err)
	}
	if n := count(other); n != 1 {
		t.Errorf("a session that is no backup saw %d snapshots, want the 1 written after it opened", n)
	}
	if n := count(backup); n != 0 {
		t.Errorf("a backup's first load saw %d snapshots, want the listing made as it opened (0)", n)
	}
	if n := count(backup); n != 1 {
		t.Errorf("a backup's second load saw %d snapshots, want 1", n)
	}
}
