package repair

import (
	"context"
	"errors"
	"fmt"
	"slices"

	"github.com/cairn-backup/cairn/internal/digest"
	"github.com/cairn-backup/cairn/internal/repo"
)

// DefaultTag marks the snapshots Snapshots writes.
const DefaultTag = "repaired"

// SnapshotsOptions configure Snapshots.
type SnapshotsOptions struct {
	DryRun bool   // report what would be done, write nothing
	Tag    string // added to each repaired snapshot; "" means DefaultTag
}

// Lost is a file or directory a repaired snapshot leaves out (a directory whose node
// could not be read is kept, empty).
type Lost struct {
	Snapshot digest.ID
	Path     string
	Dir      bool
	Err      error
}

// SnapshotsResult is what Snapshots found and did.
type SnapshotsResult struct {
	DryRun   bool
	Checked  int
	Repaired []repo.Replacement // old → new (New is the id the record would get on a dry run)
	Lost     []Lost
}

// ErrIndexDamaged: repair snapshots needs a whole index, or it would take blobs that
// are only unindexed for lost.
var ErrIndexDamaged = errors.New("the index is damaged: run 'cairn repair index' first")

// Snapshots checks every snapshot in snaps for data the repository lost (blobs in no
// pack the storage has, nodes that do not read) and replaces each one that needs lost
// data by a snapshot without the lost files, tagged opts.Tag. Call it on a freshly
// opened repository: it chooses how the index loads.
func Snapshots(ctx context.Context, r *repo.Repo, snaps []repo.Snapshot, opts SnapshotsOptions) (*SnapshotsResult, error) {
	if opts.Tag == "" {
		opts.Tag = DefaultTag
	}
	r.StoredPacksOnly() // new nodes never go into a lost or marked pack
	if err := r.LoadIndex(ctx); err != nil {
		return nil, err
	}
	if dmg := r.IndexDamage(); len(dmg) > 0 {
		return nil, fmt.Errorf("%w (%v)", ErrIndexDamaged, dmg[0])
	}
	res := &SnapshotsResult{DryRun: opts.DryRun}
	rn := &run{r: r, clean: map[digest.ID]bool{}, saver: dryRunSaver{}}
	var w *repo.Writer
	if !opts.DryRun {
		w = r.NewWriter(ctx, repo.WriterOptions{})
		rn.saver = w
	}
	rewrites, err := rn.all(ctx, snaps, opts.Tag, res)
	if err == nil && w != nil {
		err = w.Flush(ctx)
	}
	if err != nil {
		if w != nil {
			_ = w.Abort(context.WithoutCancel(ctx))
		}
		return nil, err
	}
	if opts.DryRun || len(rewrites) == 0 {
		return res, nil
	}
	pairs, err := r.ReplaceSnapshots(ctx, rewrites)
	res.Repaired = pairs
	return res, err
}

// all rewrites each snapshot that needs lost data and returns the new records.
func (rn *run) all(ctx context.Context, snaps []repo.Snapshot, tag string, res *SnapshotsResult) ([]repo.Rewrite, error) {
	var rewrites []repo.Rewrite
	for _, s := range snaps {
		res.Checked++
		rn.snap, rn.lostFiles, rn.lostBytes = s.ID, 0, 0
		rn.res = res
		root, tree, changed, err := rn.dir(ctx, "/", s.Tree, s.Root, 0)
		if err != nil {
			return nil, fmt.Errorf("snapshot %s: %w", s.ID.Short(), err)
		}
		if !changed {
			continue
		}
		ns := *s.Snapshot
		ns.Root, ns.Tree = root, tree
		ns.Stats.Files -= min(ns.Stats.Files, rn.lostFiles)
		ns.Stats.Bytes -= min(ns.Stats.Bytes, rn.lostBytes)
		if !slices.Contains(ns.Tags, tag) {
			ns.Tags = append(slices.Clone(ns.Tags), tag)
		}
		record, err := ns.Encode()
		if err != nil {
			return nil, fmt.Errorf("repair snapshot %s: %w", s.ID.Short(), err)
		}
		rewrites = append(rewrites, repo.Rewrite{Old: s.ID, Record: record})
		if res.DryRun {
			res.Repaired = append(res.Repaired, repo.Replacement{Old: s.ID, New: digest.Of(record)})
		}
	}
	return rewrites, nil
}

// dryRunSaver names nodes without storing them.
type dryRunSaver struct{}

func (dryRunSaver) SaveTree(_ context.Context, data []byte) (digest.ID, error) {
	return digest.Of(data), nil
}
