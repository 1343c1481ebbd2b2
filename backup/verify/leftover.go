package verify

import (
	"context"
	"time"

	"github.com/cairn-backup/cairn/internal/digest"
	"github.com/cairn-backup/cairn/internal/repo"
)

// DefaultGrace is the age below which a pack no index names may be a running
// backup's: prune's default grace period.
const DefaultGrace = 24 * time.Hour

// Leftovers is what interrupted writes left behind: information, not damage. Ages are
// judged by this host's clock (a report only; prune judges by the storage's).
type Leftovers struct {
	GraceSeconds float64 `json:"grace_seconds"`
	// UnindexedOld are packs no index names, older than the grace period: left by an
	// interrupted backup. Prune marks them, and deletes them a grace period later.
	UnindexedOld Tally `json:"unindexed_packs"`
	// UnindexedRecent are younger: possibly a running backup's, which indexes them
	// when it ends.
	UnindexedRecent Tally `json:"unindexed_recent_packs"`
	// Temp are the storage's temporary files (a local directory keeps them; S3 none),
	// and TempOld those of them older than the grace period, which prune removes.
	Temp    Tally `json:"temp_files"`
	TempOld Tally `json:"temp_files_old"`
}

// Tally counts objects and their bytes.
type Tally struct {
	Count int   `json:"count"`
	Bytes int64 `json:"bytes"`
}

func (t *Tally) add(size int64) { t.Count, t.Bytes = t.Count+1, t.Bytes+size }

// Any reports whether anything was left behind.
func (l *Leftovers) Any() bool {
	return l.UnindexedOld.Count+l.UnindexedRecent.Count+l.Temp.Count > 0
}

// ages sorts leftovers by age.
type ages struct {
	now   time.Time
	grace time.Duration
	out   *Leftovers
}

func (v *run) ages() ages {
	now, grace := time.Now(), v.opts.Grace
	if v.opts.Now != nil {
		now = v.opts.Now()
	}
	if grace <= 0 {
		grace = DefaultGrace
	}
	v.rep.Leftovers.GraceSeconds = grace.Seconds()
	return ages{now: now, grace: grace, out: &v.rep.Leftovers}
}

func (a ages) old(t time.Time) bool { return a.now.Sub(t) >= a.grace }

// unindexed counts a pack no index names and says what it is.
func (a ages) unindexed(id digest.ID, info repo.PackInfo) Unreferenced {
	u := Unreferenced{Pack: id, Size: info.Size}
	if a.old(info.ModTime) {
		a.out.UnindexedOld.add(info.Size)
		u.Reason = "not in the index: left by an interrupted backup (prune removes it)"
	} else {
		a.out.UnindexedRecent.add(info.Size)
		u.Reason = "not in the index yet: younger than the grace period (possibly a running backup's)"
	}
	return u
}

// temp counts the storage's temporary files.
func (a ages) temp(ctx context.Context, r *repo.Repo) error {
	files, _, err := r.TempFiles(ctx)
	if err != nil {
		return err
	}
	for _, f := range files {
		a.out.Temp.add(f.Size)
		if a.old(f.ModTime) {
			a.out.TempOld.add(f.Size)
		}
	}
	return nil
}
