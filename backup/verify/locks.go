package verify

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"time"

	"github.com/cairn-backup/cairn/internal/digest"
)

// LockCover is how long the object locks protect one snapshot (a repository with
// object locks only).
type LockCover struct {
	Snapshot digest.ID `json:"snapshot"`
	Time     time.Time `json:"time"`
	// Want is the snapshot's time plus lock-for; Until the earliest lock among the
	// objects it needs (zero: one is not locked), and Object that object.
	Want   time.Time `json:"wanted_until"`
	Until  time.Time `json:"locked_until"`
	Object string    `json:"earliest_object"`
	Short  int       `json:"objects_locked_too_briefly"`
}

// coverage reads the locks of what the snapshots need and warns of each object whose
// lock ends before a snapshot that needs it should stop being protected.
func (v *run) coverage(ctx context.Context) error {
	if v.r.LockConfig() == nil || v.rec.anyBad() {
		return nil // damage first: the packs a snapshot needs are not all known
	}
	cov, err := v.r.LockCoverage(ctx, v.snaps)
	if err != nil {
		if ctx.Err() != nil {
			return err
		}
		v.rec.warning(LockUnchecked, "object locks", err.Error())
		return nil
	}
	short := map[string]string{}
	for _, c := range cov {
		v.rep.Locks = append(v.rep.Locks, LockCover{Snapshot: c.Snapshot, Time: c.Time, Want: c.Want,
			Until: c.Earliest, Object: c.EarliestObject.String(), Short: len(c.Short)})
		for _, o := range c.Short {
			short[o.String()] = fmt.Sprintf("locked until %s, but snapshot %s needs it locked until %s",
				lockDate(o.Until), c.Snapshot.Short(), lockDate(c.Want))
		}
	}
	objs := slices.Sorted(maps.Keys(short))
	for _, obj := range objs {
		v.rec.warning(LockShort, obj, short[obj])
	}
	return nil
}

func lockDate(t time.Time) string {
	if t.IsZero() {
		return "never (not locked)"
	}
	return t.UTC().Format(time.RFC3339)
}
