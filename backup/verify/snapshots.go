package verify

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/cairn-backup/cairn/internal/digest"
	"github.com/cairn-backup/cairn/internal/repo"
	"github.com/cairn-backup/cairn/manifest"
	"golang.org/x/sync/errgroup"
)

// loadSnapshots reads every snapshot record from the storage (not the cache). It
// returns the good ones oldest first, and every listed id, damaged records included.
// A record listed and gone when read was deleted meanwhile (a forget on another
// client) and counts as not listed: the history check then wants it recorded as
// forgotten (forget records that before it deletes), and reports it otherwise.
func loadSnapshots(ctx context.Context, r *repo.Repo, rec *recorder) ([]repo.Snapshot, map[digest.ID]bool, error) {
	ids, err := r.Snapshots(ctx)
	if err != nil && !repo.IsDamage(err) {
		return nil, nil, err
	}
	if err != nil {
		rec.problem(StoreDamaged, "snapshots", err.Error())
	}
	listed := make(map[digest.ID]bool, len(ids))
	var (
		mu    sync.Mutex
		snaps []repo.Snapshot
		gone  []digest.ID
	)
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(8)
	for _, id := range ids {
		listed[id] = true
		g.Go(func() error {
			s, err := loadSnapshot(gctx, r, id)
			switch {
			case err == nil:
				mu.Lock()
				snaps = append(snaps, repo.Snapshot{ID: id, Snapshot: s})
				mu.Unlock()
			case gctx.Err() != nil:
				return gctx.Err()
			case errors.Is(err, repo.ErrSnapshotGone):
				mu.Lock()
				gone = append(gone, id)
				mu.Unlock()
			case repo.IsDamage(err):
				rec.problem(SnapshotDamaged, "snapshot "+id.Short(), err.Error())
			default:
				rec.problem(Unreadable, "snapshot "+id.Short(), err.Error())
			}
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		return nil, nil, err
	}
	for _, id := range gone {
		delete(listed, id)
	}
	sortSnapshots(snaps)
	return snaps, listed, nil
}

// sortSnapshots orders snapshots oldest first, as repo.LoadSnapshots does.
func sortSnapshots(snaps []repo.Snapshot) {
	sort.Slice(snaps, func(i, j int) bool {
		if !snaps[i].Time.Equal(snaps[j].Time) {
			return snaps[i].Time.Before(snaps[j].Time)
		}
		return snaps[i].ID.String() < snaps[j].ID.String()
	})
}

func loadSnapshot(ctx context.Context, r *repo.Repo, id digest.ID) (*manifest.Snapshot, error) {
	plain, err := r.LoadSnapshotRemote(ctx, id)
	if err != nil {
		return nil, err
	}
	s, err := manifest.DecodeSnapshot(plain)
	if err != nil {
		return nil, fmt.Errorf("snapshots/%s: %w", id, err)
	}
	return s, nil
}

// groupKey names a history: the snapshots of one host and one set of paths, which
// backup chains through Previous.
func groupKey(s repo.Snapshot) string {
	return s.Host + "\x00" + strings.Join(s.Paths, "\x00")
}

// history is what the chain check compares: the snapshots found, every id listed
// (damaged records too), what this client saw before, what forget recorded, and the
// records tag replaced (replaced.go).
type history struct {
	snaps     []repo.Snapshot
	listed    map[digest.ID]bool
	seen      []digest.ID
	forgotten map[digest.ID]bool
	replaced  map[digest.ID]digest.ID
}

// checkChains reports broken hash chains, forks, and snapshots this client saw that
// vanished. It returns the number of groups.
func checkChains(h history, rec *recorder) int {
	byID := make(map[digest.ID]*repo.Snapshot, len(h.snaps))
	groups := map[string][]*repo.Snapshot{}
	named := map[digest.ID]bool{} // named as Previous by a snapshot found
	for i := range h.snaps {
		s := &h.snaps[i]
		byID[s.ID] = s
		if s.Previous != nil {
			named[*s.Previous] = true
		}
		if h.pending(s.ID, rec) {
			continue // the same snapshot as its replacement, which stands in the group
		}
		groups[groupKey(*s)] = append(groups[groupKey(*s)], s)
	}
	for i := range h.snaps {
		checkPrevious(&h.snaps[i], byID, h, rec)
	}
	for _, g := range groups {
		checkGroup(g, h, rec)
	}
	checkReplacements(h, rec)
	for _, id := range h.seen {
		_, replaced := h.replaced[id] // checkReplacements reports a missing replacement
		if !h.listed[id] && !h.forgotten[id] && !named[id] && !replaced {
			rec.problem(RolledBack, "snapshot "+id.Short(),
				"this client saw snapshot "+id.String()+" before; it is gone and no snapshot follows it (history rolled back, or its latest snapshot deleted)")
		}
	}
	return len(groups)
}

// checkPrevious checks the snapshot a record names as its predecessor.
func checkPrevious(s *repo.Snapshot, byID map[digest.ID]*repo.Snapshot, h history, rec *recorder) {
	if s.Previous == nil {
		return
	}
	p := h.resolve(*s.Previous)
	obj := "snapshot " + s.ID.Short()
	if p != *s.Previous {
		obj += " (previous " + s.Previous.Short() + " was replaced by tag)"
	}
	q, ok := byID[p]
	switch {
	case ok && groupKey(*q) != groupKey(*s):
		rec.problem(ChainBroken, obj, fmt.Sprintf("its previous snapshot %s is of another host or set of paths", p.Short()))
	case ok && q.Time.After(s.Time.Add(forkMargin)):
		// Within the margin: a short backup that started while this one was starting
		// and was written before this one listed the snapshots.
		rec.problem(ChainBroken, obj, fmt.Sprintf("its previous snapshot %s is newer than it", p.Short()))
	case ok || h.listed[p]:
		// present (a damaged record is reported on its own)
	case h.forgotten[p]:
		rec.warning(Forgotten, obj, fmt.Sprintf("its previous snapshot %s was removed by forget", p.Short()))
	default:
		seen := ""
		if slices.Contains(h.seen, p) {
			seen = ", which this client saw before"
		}
		rec.problem(ChainBroken, obj, fmt.Sprintf("its previous snapshot %s is missing%s", p.Short(), seen))
	}
}

// checkGroup checks that each snapshot of a history follows the one before it. Two
// backups of the same paths that ran at once fork the history, which is a warning:
// both may name the same predecessor, or both start a chain when neither saw the
// other's record (docs/verify.md, "Forks").
func checkGroup(g []*repo.Snapshot, h history, rec *recorder) {
	inGroup := map[digest.ID]bool{}
	for i, s := range g {
		inGroup[s.ID] = true
		if i == 0 {
			continue
		}
		prev := g[i-1]
		switch {
		case s.Previous == nil:
			checkChainStart(s, g[:i], rec)
		case sameSnapshot(*s, *prev):
			rec.warning(Fork, "snapshot "+s.ID.Short(),
				fmt.Sprintf("it is snapshot %s with other tags, both kept: a tag command that did not finish (run it again)", prev.ID.Short()))
		case h.resolve(*s.Previous) != prev.ID && inGroup[h.resolve(*s.Previous)]:
			rec.warning(Fork, "snapshot "+s.ID.Short(),
				fmt.Sprintf("it follows %s, not the newer %s (concurrent backups of the same paths?)", s.Previous.Short(), prev.ID.Short()))
		}
	}
}

// forkMargin is how long after a backup's measured end its record may still be being
// written (the duration is taken before the record is stored, which a slow storage
// and its retries can draw out), and so be missed by a backup starting meanwhile.
const forkMargin = time.Minute

// checkChainStart checks a snapshot that names no predecessor although earlier ones
// of its history exist. That is a fork when every one of them was still running when
// it started (ended, plus forkMargin, no earlier than its start): the backup could not
// have seen them. If one had ended before, the backup should have named it, and its
// listing missed a snapshot: the history is broken.
func checkChainStart(s *repo.Snapshot, earlier []*repo.Snapshot, rec *recorder) {
	obj := "snapshot " + s.ID.Short()
	for _, q := range earlier {
		if end := q.Time.Add(time.Duration(q.Stats.DurationNS)); end.Add(forkMargin).Before(s.Time) {
			rec.problem(ChainBroken, obj,
				fmt.Sprintf("it starts a new chain, but snapshot %s of the same host and paths precedes it", q.ID.Short()))
			return
		}
	}
	rec.warning(Fork, obj, fmt.Sprintf("it starts a new chain while snapshot %s of the same host and paths was being made (concurrent backups of the same paths?)",
		earlier[len(earlier)-1].ID.Short()))
}
