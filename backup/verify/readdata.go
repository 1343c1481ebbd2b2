package verify

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"

	"github.com/cairn-backup/cairn/internal/digest"
	"github.com/cairn-backup/cairn/internal/repo"
	"golang.org/x/sync/errgroup"
	"golang.org/x/sync/semaphore"
)

// reader checks whole packs: their bytes hash to their name, their header opens and
// agrees with the index, and every blob opens (authenticates, decompresses, hashes to
// its id). A few packs are in flight at once, each in a buffer that is reused. Tree
// packs the walk fetches anyway are checked from its copy (inspect), not read twice.
type reader struct {
	r      *repo.Repo
	f      *fetcher
	rec    *recorder
	counts map[digest.ID]int // blobs the index places in each pack
	done   func()            // called after each pack, for progress
	budget *semaphore.Weighted

	mu      sync.Mutex
	pending map[digest.ID]bool // selected and not yet taken by a reader or the walk
	whole   []digest.ID        // checked and found whole
	err     error              // the index could not be read back (its spill file)
}

// fail keeps the first error reading the index back: the run's result is then no
// answer (an error, not a report).
func (rd *reader) fail(err error) {
	rd.mu.Lock()
	defer rd.mu.Unlock()
	if rd.err == nil {
		rd.err = err
	}
}

// newReader prepares checking the packs ids, and orders them tree packs last.
func newReader(r *repo.Repo, f *fetcher, rec *recorder, ids []digest.ID, done func()) *reader {
	counts, trees, err := countBlobs(r)
	rd := &reader{r: r, f: f, rec: rec, counts: counts, done: done,
		budget:  semaphore.NewWeighted(packBudget),
		pending: make(map[digest.ID]bool, len(ids)), err: err}
	for _, id := range ids {
		rd.pending[id] = true
	}
	// The walk fetches the tree packs it needs and hands them over (treeSource), so
	// reading them last spares most of them a second read.
	slices.SortStableFunc(ids, func(a, b digest.ID) int { return cmp.Compare(b2i(trees[a]), b2i(trees[b])) })
	return rd
}

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}

// take claims a selected pack for checking; false if it is not selected or taken.
func (rd *reader) take(id digest.ID) bool {
	rd.mu.Lock()
	defer rd.mu.Unlock()
	ok := rd.pending[id]
	delete(rd.pending, id)
	return ok
}

// packBudget bounds the bytes of whole packs the readers hold at once (a larger pack is
// read alone): two packs of the usual 16–17 MiB, so that one is read and hashed while
// the blobs of the other are opened, but not one per worker.
const packBudget = 40 << 20

// run reads the packs ids (those not taken meanwhile) on up to workers goroutines, with
// at most packBudget bytes of packs in flight, in buffers reused from pack to pack.
func (rd *reader) run(ctx context.Context, ids []digest.ID, workers int) error {
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(workers)
	bufs := &bufStack{size: rd.bufferSize(ids)}
	defer bufs.free()
	for _, id := range ids {
		info, _ := rd.f.packs.get(id)
		weight := min(max(info.listed, 1), packBudget)
		if rd.budget.Acquire(gctx, weight) != nil {
			break
		}
		g.Go(func() error {
			defer rd.budget.Release(weight)
			if !rd.take(id) {
				return nil // the walk checked it
			}
			buf := bufs.get(info.listed)
			data, hashOK, err := rd.f.fetch(gctx, id, buf)
			if err != nil {
				bufs.put(buf)
				rd.done()
				return gctx.Err() // missing or unreadable: recorded by fetch
			}
			rd.inspect(gctx, id, data, hashOK)
			bufs.put(data)
			return nil
		})
	}
	return g.Wait()
}

// bufferSize is the capacity of a new pack buffer: the largest pack to read, so that a
// buffer is not grown pack by pack, each time leaving garbage as large as a pack; but
// no more than half the budget, so that an outsized pack does not size them all.
func (rd *reader) bufferSize(ids []digest.ID) int64 {
	var largest int64
	for _, id := range ids {
		info, _ := rd.f.packs.get(id)
		largest = max(largest, info.listed)
	}
	return min(largest, packBudget/2)
}

// bufStack keeps the buffers of finished reads for the next ones, last in first out:
// the budget lets only a few reads run at once, so only that many buffers are made.
// They are made outside the heap (newPackBuffer) and freed together at the end.
type bufStack struct {
	mu   sync.Mutex
	size int64
	bufs [][]byte
	made [][]byte
}

// get returns a buffer with room for n bytes.
func (s *bufStack) get(n int64) []byte {
	s.mu.Lock()
	defer s.mu.Unlock()
	if k := len(s.bufs); k > 0 && int64(cap(s.bufs[k-1])) >= n {
		b := s.bufs[k-1]
		s.bufs = s.bufs[:k-1]
		return b
	}
	if n > s.size {
		return make([]byte, 0, n) // an outsized pack: not kept
	}
	b := newPackBuffer(s.size)
	s.made = append(s.made, b)
	return b
}

// free gives back every buffer made, once no read uses any.
func (s *bufStack) free() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, b := range s.made {
		freePackBuffer(b)
	}
	s.bufs, s.made = nil, nil
}

// put keeps b for a later pack, unless it was made for an outsized one.
func (s *bufStack) put(b []byte) {
	if int64(cap(b)) > s.size {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.bufs = append(s.bufs, b)
}

// inspect checks a pack's bytes, as read, and records whether it is whole.
func (rd *reader) inspect(ctx context.Context, id digest.ID, data []byte, hashOK bool) {
	if bad := rd.blobs(ctx, id, data); hashOK && bad == 0 {
		rd.mu.Lock()
		rd.whole = append(rd.whole, id)
		rd.mu.Unlock()
	}
	rd.done()
}

// blobs checks the blobs of pack id and returns how many problems it found.
func (rd *reader) blobs(ctx context.Context, id digest.ID, data []byte) int {
	entries, err := rd.r.ParsePack(id, data)
	if err != nil {
		rd.rec.problem(PackHeader, "pack "+id.Short(), fmt.Sprintf("pack %s: %v", id, err))
		// Restore reads blobs where the index places them: judge each one there.
		in := rd.blobsIn(id)
		return 1 + rd.openAll(ctx, id, data, in, nil)
	}
	n, matched := 0, 0
	used := make([]bool, len(entries))
	for i, e := range entries {
		loc, indexed := rd.r.Lookup(e.Type, e.ID)
		used[i] = indexed && loc.Pack == id // else the index reads another copy, or none
		switch {
		case used[i] && (loc.Offset != e.Offset || loc.Length != e.Length):
			rd.mismatch(id, e.Type, e.ID, fmt.Sprintf("the index places it at %d+%d, the pack header at %d+%d", loc.Offset, loc.Length, e.Offset, e.Length))
			n++
			used[i] = false
		case used[i]:
			matched++
		}
	}
	n += rd.openAll(ctx, id, data, entries, used)
	if matched < rd.counts[id] {
		n += rd.strays(id, entries)
	}
	return n
}

// openAll opens the blobs of a pack on every core (repo.CheckBlobs) and returns how
// many failed. A failure is recorded as a bad blob when the index reads this copy
// (used; nil means all are), and as damage of the pack in any case.
func (rd *reader) openAll(ctx context.Context, id digest.ID, data []byte, blobs []repo.Blob, used []bool) int {
	var bad atomic.Int64
	rd.r.CheckBlobs(ctx, data, blobs, func(i int, err error) {
		if err == nil {
			return
		}
		bad.Add(1)
		e := blobs[i]
		if used == nil || used[i] {
			rd.rec.badBlob(e.Type, e.ID, id, err.Error())
		}
		rd.rec.problem(BlobDamaged, fmt.Sprintf("pack %s blob %s", id.Short(), e.ID.Short()), fmt.Sprintf("pack %s: %v", id, err))
	})
	return int(bad.Load())
}

func (rd *reader) mismatch(p digest.ID, t repo.BlobType, id digest.ID, why string) {
	rd.rec.badBlob(t, id, p, why)
	rd.rec.problem(IndexMismatch, fmt.Sprintf("pack %s blob %s", p.Short(), id.Short()), fmt.Sprintf("%s blob %s in pack %s: %s", t, id, p, why))
}

// strays finds the blobs the index places in pack p that its header does not hold
// there; it scans the whole index, which happens only for a pack found wrong.
func (rd *reader) strays(p digest.ID, entries []repo.Blob) int {
	type place struct{ off, n uint32 }
	have := make(map[blobKey]place, len(entries))
	for _, e := range entries {
		have[blobKey{e.Type, e.ID}] = place{e.Offset, e.Length}
	}
	n := 0
	for _, b := range rd.blobsIn(p) {
		at, ok := have[blobKey{b.Type, b.ID}]
		if ok && at == (place{b.Offset, b.Length}) {
			continue
		}
		if !ok {
			rd.mismatch(p, b.Type, b.ID, fmt.Sprintf("the index places it at %d+%d, the pack header does not list it", b.Offset, b.Length))
		}
		n++
	}
	return n
}
