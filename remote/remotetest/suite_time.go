package remotetest

import (
	"testing"
	"time"

	"github.com/cairn-backup/cairn/remote"
)

// skewAllowed bounds how far a test server's clock (MinIO on this host) and a file
// system's timestamps may stray from the test's clock; only S3's one-second resolution
// and rounding need it.
const skewAllowed = 5 * time.Second

// testModTime: Stat and List give the storage's time of the write, which prune's grace
// periods are measured in (docs/prune.md). A store on this host keeps this host's time.
func testModTime(t *testing.T, s remote.Storage) {
	rng := newRand(t)
	h := remote.Handle{Type: remote.Data, Name: randomName(rng)}
	before := time.Now()
	put(t, s, h, randomBytes(rng, 100))
	after := time.Now()
	near := func(what string, got time.Time) {
		t.Helper()
		if got.Before(before.Add(-skewAllowed)) || got.After(after.Add(skewAllowed)) {
			t.Errorf("%s ModTime %v, want between %v and %v", what, got, before, after)
		}
	}
	info, err := s.Stat(t.Context(), h)
	if err != nil {
		t.Fatalf("stat: %v", err)
	}
	near("Stat", info.ModTime)
	found := false
	err = s.List(t.Context(), remote.Data, func(i remote.Info) error {
		if i.Name == h.Name {
			found = true
			near("List", i.ModTime)
		}
		return nil
	})
	if err != nil || !found {
		t.Fatalf("list: %v, found %v", err, found)
	}
}

// testDeleteMany: remote.DeleteMany removes exactly the objects named, in batches
// where the store has them, and a name already gone is no error.
func testDeleteMany(t *testing.T, s remote.Storage) {
	rng := newRand(t)
	var doomed, kept []string
	for i := range 25 {
		h := remote.Handle{Type: remote.Data, Name: randomName(rng)}
		put(t, s, h, randomBytes(rng, 10+i))
		if i%5 == 0 {
			kept = append(kept, h.Name)
		} else {
			doomed = append(doomed, h.Name)
		}
	}
	if err := remote.DeleteMany(t.Context(), s, remote.Data, append(doomed, randomName(rng))); err != nil {
		t.Fatalf("DeleteMany: %v", err)
	}
	left := map[string]bool{}
	if err := s.List(t.Context(), remote.Data, func(i remote.Info) error { left[i.Name] = true; return nil }); err != nil {
		t.Fatal(err)
	}
	if len(left) != len(kept) {
		t.Errorf("%d objects left, want the %d not named", len(left), len(kept))
	}
	for _, name := range kept {
		if !left[name] {
			t.Errorf("%s was deleted but not named", name)
		}
	}
}
