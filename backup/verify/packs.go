package verify

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"

	"github.com/cairn-backup/cairn/internal/digest"
	"github.com/cairn-backup/cairn/internal/repo"
)

// packInfo is what the index and the one listing of data/ say of a pack.
type packInfo struct {
	indexed int64 // size the index names; -1 if not indexed
	listed  int64 // size in the listing; -1 if not listed
}

func (p packInfo) missing() bool   { return p.indexed >= 0 && p.listed < 0 }
func (p packInfo) wrongSize() bool { return p.indexed >= 0 && p.listed >= 0 && p.listed != p.indexed }

// packTable holds every pack known from the index or the listing, and marks those a
// snapshot uses. It is read by many goroutines once built; used is locked.
type packTable struct {
	info map[digest.ID]packInfo
	mu   sync.Mutex
	used map[digest.ID]bool
}

// listPacks compares one listing of data/ with the index: indexed packs of another
// size are damage, packs the index does not name are information; indexed packs
// missing are left to judgeMissing.
func listPacks(ctx context.Context, r *repo.Repo, rec *recorder, a ages) (*packTable, []Unreferenced, error) {
	infos, strangers, err := r.ListPackInfos(ctx)
	if err != nil {
		return nil, nil, err
	}
	for _, e := range strangers {
		rec.problem(StoreDamaged, "data", e.Error())
	}
	t := &packTable{info: make(map[digest.ID]packInfo, len(infos)), used: map[digest.ID]bool{}}
	r.EachPack(func(id digest.ID, size uint64) bool {
		info, ok := infos[id]
		listed := info.Size
		if !ok {
			listed = -1
		}
		t.info[id] = packInfo{indexed: int64(size), listed: listed}
		switch {
		case !ok:
			// judged by judgeMissing: damage, or stored again elsewhere
		case listed != int64(size):
			rec.problem(PackSize, "pack "+id.Short(), fmt.Sprintf("pack %s has %d bytes, the index says %d", id, listed, size))
		}
		return true
	})
	var unindexed []Unreferenced
	for id, info := range infos {
		if _, ok := t.info[id]; !ok {
			t.info[id] = packInfo{indexed: -1, listed: info.Size}
			unindexed = append(unindexed, a.unindexed(id, info))
		}
	}
	return t, unindexed, nil
}

func (t *packTable) get(id digest.ID) (packInfo, bool) {
	p, ok := t.info[id]
	return p, ok
}

func (t *packTable) markUsed(id digest.ID) {
	t.mu.Lock()
	t.used[id] = true
	t.mu.Unlock()
}

// unused returns the indexed packs no snapshot needs.
func (t *packTable) unused() []Unreferenced {
	t.mu.Lock()
	defer t.mu.Unlock()
	var out []Unreferenced
	for id, p := range t.info {
		if p.indexed >= 0 && p.listed >= 0 && !t.used[id] {
			out = append(out, Unreferenced{Pack: id, Size: p.listed, Reason: "no snapshot uses its blobs (prune removes it)"})
		}
	}
	return out
}

// missing returns the ids of the indexed packs the listing lacks, sorted.
func (t *packTable) missing() []digest.ID {
	var ids []digest.ID
	for id, p := range t.info {
		if p.missing() {
			ids = append(ids, id)
		}
	}
	slices.SortFunc(ids, func(a, b digest.ID) int { return bytes.Compare(a[:], b[:]) })
	return ids
}

// split divides ids into the packs a walked snapshot uses and the others; all are
// used if the walk did not finish (unknown is never unused).
func (t *packTable) split(ids []digest.ID, walked bool) (used, unused []digest.ID) {
	t.mu.Lock()
	defer t.mu.Unlock()
	for _, id := range ids {
		if !walked || t.used[id] {
			used = append(used, id)
		} else {
			unused = append(unused, id)
		}
	}
	return used, unused
}

// listed reports whether the listing of data/ named pack id.
func (t *packTable) listed(id digest.ID) bool {
	p, ok := t.info[id]
	return ok && p.listed >= 0
}

// indexed returns the ids of the packs the index names, sorted.
func (t *packTable) indexed() []digest.ID {
	var ids []digest.ID
	for id, p := range t.info {
		if p.indexed >= 0 {
			ids = append(ids, id)
		}
	}
	slices.SortFunc(ids, func(a, b digest.ID) int { return bytes.Compare(a[:], b[:]) })
	return ids
}

// fetcher reads whole packs, re-reading once what failed or did not hash to its name:
// a fault that a second read cures (a dropped connection, a byte flipped in transit)
// is not damage. What stays wrong is recorded.
type fetcher struct {
	r     *repo.Repo
	rec   *recorder
	packs *packTable
	bytes func(n int) // counts bytes read, for the report and progress

	mu       sync.Mutex
	vanished []digest.ID // listed, then gone when read: judged after the walk
}

// errUnreadable marks a pack the storage failed to return twice: not damage, but
// nothing can be concluded about its blobs.
var errUnreadable = errors.New("pack unreadable")

// fetch returns the pack's bytes as listed and whether they hash to its name. A pack
// that is missing or unreadable returns an error wrapping repo.ErrPackMissing or
// errUnreadable.
func (f *fetcher) fetch(ctx context.Context, id digest.ID, buf []byte) ([]byte, bool, error) {
	info, _ := f.packs.get(id)
	if info.listed < 0 {
		return nil, false, fmt.Errorf("pack %s: %w", id.Short(), repo.ErrPackMissing)
	}
	var lastErr error
	for try := 0; try < 2; try++ {
		data, err := f.r.ReadPack(ctx, id, info.listed, buf)
		switch {
		case ctx.Err() != nil:
			return nil, false, ctx.Err()
		case errors.Is(err, repo.ErrPackMissing):
			f.mu.Lock()
			f.vanished = append(f.vanished, id)
			f.mu.Unlock()
			return nil, false, err
		case err != nil:
			lastErr = err
			continue
		}
		f.bytes(len(data))
		buf = data
		if digest.Of(data) == id {
			if try > 0 {
				f.rec.retry()
			}
			return data, true, nil
		}
		lastErr = nil
	}
	if lastErr != nil {
		f.rec.problem(Unreadable, "pack "+id.Short(), lastErr.Error())
		return nil, false, fmt.Errorf("pack %s: %w: %w", id.Short(), errUnreadable, lastErr)
	}
	f.rec.problem(PackDamaged, "pack "+id.Short(), fmt.Sprintf("pack %s: its %d bytes hash to %s (read twice)", id, len(buf), digest.Of(buf).Short()))
	return buf, false, nil
}

// countBlobs returns how many blobs the index places in each pack, and which packs
// hold tree blobs.
func countBlobs(r *repo.Repo) (map[digest.ID]int, map[digest.ID]bool, error) {
	n, trees := map[digest.ID]int{}, map[digest.ID]bool{}
	err := r.EachBlob(func(b repo.Blob) bool {
		n[b.Pack]++
		if b.Type == repo.TreeBlob {
			trees[b.Pack] = true
		}
		return true
	})
	return n, trees, err
}

// blobsIn returns the blobs the index places in pack p.
func (rd *reader) blobsIn(p digest.ID) []repo.Blob {
	var out []repo.Blob
	err := rd.r.EachBlob(func(b repo.Blob) bool {
		if b.Pack == p {
			out = append(out, b)
		}
		return true
	})
	if err != nil {
		rd.fail(err)
	}
	return out
}
