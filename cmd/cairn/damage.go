package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/cairn-backup/cairn/backup/restore"
	"github.com/cairn-backup/cairn/internal/repo"
)

// warnIndexDamage says which index segments (and pack headers) the index load had to
// skip: the command went on without them, and `cairn repair index` rebuilds them.
func warnIndexDamage(w io.Writer, r *repo.Repo) {
	for _, err := range r.IndexDamage() {
		fmt.Fprintf(w, "cairn: %v; run 'cairn repair index'\n", err)
	}
}

// openRestoreSnapshot opens the repository and picks the snapshot to restore. For
// "latest" and --at, a damaged record that may be the one meant stops it (exit 1)
// unless --skip-damaged was given; then it says which snapshot it restores instead.
func (g *globals) openRestoreSnapshot(ctx context.Context, f *restoreFlags, ref string, at *time.Time) (*repo.Repo, repo.Snapshot, error) {
	r, err := g.open(ctx)
	if err != nil {
		return nil, repo.Snapshot{}, err
	}
	snap, err := pickRestore(ctx, r, f, ref, at)
	if err != nil {
		r.Close()
		return nil, repo.Snapshot{}, err
	}
	return r, snap, nil
}

func pickRestore(ctx context.Context, r *repo.Repo, f *restoreFlags, ref string, at *time.Time) (repo.Snapshot, error) {
	all, bad, err := r.LoadSnapshots(ctx)
	if err != nil {
		return repo.Snapshot{}, err
	}
	for _, e := range bad {
		fmt.Fprintf(os.Stderr, "cairn: damaged snapshot: %v\n", e)
	}
	flt, err := f.filter.filter()
	if err != nil {
		return repo.Snapshot{}, err
	}
	snap, err := restore.Select(flt.Select(all), ref, at)
	if err != nil {
		return repo.Snapshot{}, err
	}
	if err := restore.CheckNewest(all, bad, snap, ref, at); err != nil {
		if !f.skipDamaged {
			return repo.Snapshot{}, err
		}
		fmt.Fprintf(os.Stderr, "cairn: --skip-damaged: a damaged snapshot record may be newer; restoring snapshot %s (%s), the newest readable one\n",
			snap.ID.Short(), snap.Time.Local().Format(time.RFC3339))
	}
	return snap, nil
}
