package restore

import (
	"errors"
	"testing"
	"time"

	"github.com/cairn-backup/cairn/internal/digest"
	"github.com/cairn-backup/cairn/internal/repo"
	"github.com/cairn-backup/cairn/manifest"
)

func TestCheckNewest(t *testing.T) {
	id := func(s string) digest.ID { return digest.Of([]byte(s)) }
	t0 := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
	snap := func(name string, day int, prev *digest.ID) repo.Snapshot {
		return repo.Snapshot{ID: id(name), Snapshot: &manifest.Snapshot{Time: t0.AddDate(0, 0, day), Previous: prev}}
	}
	damagedID := id("damaged")
	bad := []error{&repo.SnapshotError{ID: damagedID, Err: errors.New("does not open")}}
	a := snap("a", 0, nil)
	cNamesDamaged := snap("c", 2, &damagedID)
	at := t0.AddDate(0, 0, 1)
	for _, tc := range []struct {
		name   string
		all    []repo.Snapshot
		chosen repo.Snapshot
		ref    string
		at     *time.Time
		refuse bool
	}{
		{"latest, damaged record named by nobody", []repo.Snapshot{a}, a, "latest", nil, true},
		{"latest, damaged record is the newest's predecessor", []repo.Snapshot{a, cNamesDamaged}, cNamesDamaged, "latest", nil, false},
		{"by id", []repo.Snapshot{a}, a, a.ID.String(), nil, false},
		{"--at before the snapshot naming it", []repo.Snapshot{a, cNamesDamaged}, a, "", &at, true},
	} {
		err := CheckNewest(tc.all, bad, tc.chosen, tc.ref, tc.at)
		if got := errors.Is(err, ErrNewestDamaged); got != tc.refuse {
			t.Errorf("%s: err = %v, want refusal %v", tc.name, err, tc.refuse)
		}
	}
}
