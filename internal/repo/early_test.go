package repo

import (
	"errors"
	"testing"

	"github.com/cairn-backup/cairn/remote"
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

// A backup's run note goes out as soon as the config is read, before the key is
// derived: a store without a repository never gets one, and a wrong password leaves
// none behind.
func TestEarlyNoteOnlyInARepositoryAndGoneWhenOpenFails(t *testing.T) {
	notes := func(st remote.Storage) int {
		t.Helper()
		n := 0
		if err := st.List(t.Context(), remote.Lock, func(remote.Info) error { n++; return nil }); err != nil {
			t.Fatal(err)
		}
		return n
	}
	opts := testOptions(t, "pw")
	opts.EarlyLists = true
	empty := remotetest.NewMem()
	if _, err := Open(t.Context(), empty, opts); !errors.Is(err, ErrNoRepository) {
		t.Fatalf("open of an empty store: %v, want ErrNoRepository", err)
	}
	if n := notes(empty); n != 0 {
		t.Errorf("an empty store got %d run notes", n)
	}
	st := remotetest.NewMem()
	initRepo(t, st, testOptions(t, "pw"))
	wrong := opts
	wrong.Password = []byte("not it")
	if _, err := Open(t.Context(), st, wrong); !errors.Is(err, ErrWrongPassword) {
		t.Fatalf("open with a wrong password: %v", err)
	}
	if n := notes(st); n != 0 {
		t.Errorf("a failed open left %d run notes", n)
	}
	r, err := Open(t.Context(), st, opts)
	if err != nil {
		t.Fatal(err)
	}
	n := r.early.takeNote()
	if err := n.Confirm(t.Context()); err != nil {
		t.Fatal(err)
	}
	if c := notes(st); c != 1 {
		t.Errorf("an open backup has %d run notes, want 1", c)
	}
	if err := n.End(t.Context()); err != nil {
		t.Fatal(err)
	}
	_ = r.Close()
	if c := notes(st); c != 0 {
		t.Errorf("%d run notes after the backup ended", c)
	}
}
