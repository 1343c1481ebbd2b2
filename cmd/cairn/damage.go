package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"time"

	"github.com/cairn-backup/cairn/backup/restore"
	"github.com/cairn-backup/cairn/internal/repo"
	"github.com/cairn-backup/cairn/remote"
)

// warnIndexDamage says which index segments (and pack headers) the index load had to
// skip: the command went on without them, and `cairn repair index` rebuilds them; and
// which it found stored damaged and stored again.
func warnIndexDamage(w io.Writer, r *repo.Repo) {
	for _, err := range r.IndexDamage() {
		fmt.Fprintf(w, "cairn: %v; run 'cairn repair index'\n", err)
	}
	for _, h := range r.Healed() {
		fmt.Fprintf(w, "warning: %s\n", h)
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
	snap, all, bad, err := selectStored(ctx, r, flt.Select, all, bad, ref, at)
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

// selectStored is restore.Select whose choice is also read from the storage itself:
// snapshot records load through the cache, and a cached copy must not hide a stored
// record that is damaged. A chosen record whose stored copy fails joins bad (said on
// stderr) and the choice is made again among the others, so that CheckNewest then
// sees it. One read per choice; at most len(all) choices.
func selectStored(ctx context.Context, r *repo.Repo, keep func([]repo.Snapshot) []repo.Snapshot,
	all []repo.Snapshot, bad []error, ref string, at *time.Time) (repo.Snapshot, []repo.Snapshot, []error, error) {
	for range len(all) + 1 {
		snap, err := restore.Select(keep(all), ref, at)
		if err != nil {
			return repo.Snapshot{}, all, bad, err
		}
		err = r.CheckStoredSnapshot(ctx, snap.ID)
		if err == nil || ctx.Err() != nil || !repo.IsDamage(err) && !errors.Is(err, remote.ErrNotFound) {
			return snap, all, bad, err
		}
		fmt.Fprintf(os.Stderr, "cairn: damaged snapshot: %v (the local cache held an intact copy)\n", err)
		bad = append(bad, &repo.SnapshotError{ID: snap.ID, Err: err})
		all = slices.DeleteFunc(slices.Clone(all), func(s repo.Snapshot) bool { return s.ID == snap.ID })
	}
	return repo.Snapshot{}, all, bad, errors.New("select snapshot: no choice held")
}
