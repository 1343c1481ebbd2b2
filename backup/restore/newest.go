package restore

import (
	"errors"
	"fmt"
	"time"

	"github.com/cairn-backup/cairn/internal/digest"
	"github.com/cairn-backup/cairn/internal/repo"
)

// ErrNewestDamaged: "latest" or --at was asked for, and a snapshot record that does
// not load may be the one meant; restoring the newest readable one instead would
// silently restore older data.
var ErrNewestDamaged = errors.New("the snapshot asked for may be a damaged record")

// CheckNewest is the check after Select for "latest" and --at (other refs name their
// snapshot and pass): it fails with ErrNewestDamaged when a damaged record (bad, as
// LoadSnapshots returns them) might be newer than chosen and still the one meant. A
// damaged record's time is unknown; it is known to be older than chosen only when a
// readable snapshot taken at or before chosen names it as Previous. all is every
// readable snapshot, unfiltered: a damaged record's host and paths are unknown too.
func CheckNewest(all []repo.Snapshot, bad []error, chosen repo.Snapshot, ref string, at *time.Time) error {
	if at == nil && ref != "latest" {
		return nil
	}
	older := map[digest.ID]bool{}
	for _, s := range all {
		if s.Previous != nil && !s.Time.After(chosen.Time) {
			older[*s.Previous] = true
		}
	}
	for _, err := range bad {
		var se *repo.SnapshotError
		if errors.As(err, &se) && !older[se.ID] {
			return fmt.Errorf("%w: snapshot record %s does not load (%v), and it may be newer than snapshot %s; run 'cairn verify', or restore the newest readable snapshot with --skip-damaged",
				ErrNewestDamaged, se.ID.Short(), se.Err, chosen.ID.Short())
		}
	}
	return nil
}
