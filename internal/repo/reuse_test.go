package repo

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cairn-backup/cairn/remote"
	"github.com/cairn-backup/cairn/remote/remotetest"
)

// overlapSeen is a store that notes whether a listing of marks was going on while a
// listing of packs began (it waits up to 400 ms for one to start).
type overlapSeen struct {
	remote.Storage
	marks   atomic.Int32 // marks listings going on
	overlap atomic.Bool
}

func (s *overlapSeen) List(ctx context.Context, t remote.Type, fn func(remote.Info) error) error {
	switch t {
	case remote.Mark:
		s.marks.Add(1)
		defer s.marks.Add(-1)
		time.Sleep(150 * time.Millisecond)
	case remote.Data:
		for end := time.Now().Add(400 * time.Millisecond); time.Now().Before(end); time.Sleep(time.Millisecond) {
			if s.marks.Load() > 0 {
				s.overlap.Store(true)
				break
			}
		}
	}
	return s.Storage.List(ctx, t, fn)
}

// The check after writing lists marks and packs side by side only while no prune can
// have deleted a pack through its grace period since the backup listed marks; after
// that, and whenever the run note was stored late, it lists marks first, so that a
// pack deleted together with its mark record is seen gone (docs/prune.md).
func TestCheckReuseListsInOrderOnceAGraceCouldHavePassed(t *testing.T) {
	cases := []struct {
		name     string
		ago      time.Duration
		late     bool
		sideSide bool
	}{
		{"short run", 0, false, true},
		{"as long as the shortest grace", MinGrace, false, false},
		{"a day", 24 * time.Hour, false, false},
		{"short run, note stored late", 0, true, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			st := &overlapSeen{Storage: remotetest.NewMem()}
			r := initRepo(t, st, testOptions(t, "pw"))
			r.StoredPacksOnly()
			if err := r.LoadIndex(t.Context()); err != nil {
				t.Fatal(err)
			}
			r.stored.listedAt = time.Now().Add(-c.ago)
			r.noteLate.Store(c.late)
			st.overlap.Store(false)
			if err := r.CheckReuse(t.Context(), Snapshot{}); err != nil {
				t.Fatal(err)
			}
			if got := st.overlap.Load(); got != c.sideSide {
				t.Errorf("packs listed while marks were listed: %v, want %v", got, c.sideSide)
			}
		})
	}
}
