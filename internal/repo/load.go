package repo

import (
	"context"
	"errors"
	"fmt"
	"sync"

	"github.com/cairn-backup/cairn/internal/digest"
	"github.com/cairn-backup/cairn/internal/index"
	"github.com/cairn-backup/cairn/internal/pack"
	"github.com/cairn-backup/cairn/remote"
	"golang.org/x/sync/errgroup"
)

// LoadIndex reads every index segment once (lazily: commands that need no index never
// pay for it). Cached segments the repository no longer has are dropped.
func (r *Repo) LoadIndex(ctx context.Context) error {
	r.indexOnce.Do(func() { r.indexErr = r.loadIndex(ctx) })
	return r.indexErr
}

// indexAttempts bounds how often the index is listed and loaded again when a segment
// listed was gone when read: a prune replaced it meanwhile, writing the new segments
// before deleting the old (docs/prune.md, prune step 10), so a new listing has them.
const indexAttempts = 5

func (r *Repo) loadIndex(ctx context.Context) error {
	damage := len(r.indexDamage)
	for attempt := 1; ; attempt++ {
		r.indexDamage = r.indexDamage[:damage]
		err := r.loadIndexOnce(ctx)
		if attempt == indexAttempts || !errors.Is(err, remote.ErrNotFound) {
			return err
		}
	}
}

func (r *Repo) loadIndexOnce(ctx context.Context) error {
	var ids []digest.ID
	var sizes map[digest.ID]int64
	var listErr error
	g0, g0ctx := errgroup.WithContext(ctx)
	g0.Go(func() error {
		ids, sizes, listErr = r.listSizedFrom(g0ctx, remote.Index, r.listFirst)
		if listErr != nil && (ids == nil || !errors.Is(listErr, ErrCorrupt)) {
			return listErr
		}
		return nil
	})
	if r.stored != nil {
		g0.Go(func() error { return r.stored.list(g0ctx, r) })
	}
	if err := g0.Wait(); err != nil {
		return err
	}
	if listErr != nil { // names that are no segment ids: damage, the rest still loads
		r.indexDamage = append(r.indexDamage, listErr)
	}
	keep := make(map[string]bool, len(ids))
	for _, id := range ids {
		keep[id.String()] = true
	}
	r.cache.retain(string(remote.Index), keep)
	idx := r.newIndex()
	g, gctx := errgroup.WithContext(ctx)
	segs := make(chan *index.Segment) // unbuffered: a decoded segment waits in its loader
	g.Go(func() error {
		defer close(segs)
		return r.decodeSegments(gctx, ids, sizes, segs)
	})
	g.Go(func() error { return addBatches(idx, segs, r.stored.filter) })
	if err := g.Wait(); err != nil {
		return err
	}
	if len(r.indexDamage) > 0 {
		if err := r.scanUnindexed(ctx, idx); err != nil {
			return err
		}
	}
	r.idx = idx
	return nil
}

// segmentLoaders bounds the segments read, opened and decoded at once. Decoded
// segments are the load's peak memory (≈ 50 bytes a blob, beside the index's 39):
// with four loaders and as many waiting in a channel, a repository of a million blobs
// (eight segments) held every segment decoded at once, and the load, not the walk,
// set the backup's peak. Two loaders, each holding its segment until it is added,
// keep at most three segments in memory; the load measured no slower (1M blobs).
const segmentLoaders = 2

// batchBlobs is how many blobs are sorted into the index at once: one sort per batch
// instead of a merge every few thousand blobs, with memory for a batch, not the index.
// A full segment (up to 8 MiB encoded, about 170,000 blobs) is a batch of its own.
const batchBlobs = 1 << 16

// decodeSegments reads, opens and decodes the segments ids in parallel into out. A
// damaged segment is skipped and recorded (IndexDamage): one bad object must not
// block every restore and backup (its blobs are looked for in the packs' headers).
func (r *Repo) decodeSegments(ctx context.Context, ids []digest.ID, sizes map[digest.ID]int64, out chan<- *index.Segment) error {
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(segmentLoaders)
	for _, id := range ids {
		g.Go(func() error {
			size, ok := sizes[id]
			if !ok {
				size = -1
			}
			seg, err := r.loadListedSegment(gctx, id, size)
			if isIndexDamage(err) {
				r.skipSegment(id, err)
				return nil
			}
			if err != nil {
				return err
			}
			select {
			case out <- seg:
				return nil
			case <-gctx.Done():
				return gctx.Err()
			}
		})
	}
	return g.Wait()
}

// addBatches adds the segments from segs to idx, batchBlobs blobs at a time. On an
// error it returns at once: the errgroup's cancellation stops the decoders.
func addBatches(idx *index.Index, segs <-chan *index.Segment, filter func(*index.Segment) *index.Segment) error {
	var batch []*index.Segment
	n := 0
	for seg := range segs {
		seg = filter(seg)
		batch = append(batch, seg)
		for _, p := range seg.Packs {
			n += len(p.Blobs)
		}
		if n >= batchBlobs {
			if err := idx.AddSegments(batch); err != nil {
				return err
			}
			batch, n = nil, 0
		}
	}
	return idx.AddSegments(batch)
}

// LoadBlob reads, authenticates, decompresses and hash-checks one blob.
func (r *Repo) LoadBlob(ctx context.Context, t pack.BlobType, id digest.ID) ([]byte, error) {
	if err := r.LoadIndex(ctx); err != nil {
		return nil, err
	}
	loc, ok := r.lookup(t, id)
	if !ok {
		return nil, fmt.Errorf("%s blob %s: %w", t, id.Short(), ErrBlobNotFound)
	}
	e := pack.Entry{Type: t, ID: id, Offset: loc.Offset, Length: loc.Length}
	if t == pack.Tree {
		return r.loadTreeBlob(ctx, loc, e)
	}
	h := remote.Handle{Type: remote.Data, Name: loc.Pack.String()}
	sealed, err := remote.ReadAll(ctx, r.store, h, int64(loc.Offset), int64(loc.Length), int64(loc.Length))
	if err != nil {
		return nil, fmt.Errorf("data blob %s in pack %s: %w", id.Short(), loc.Pack.Short(), err)
	}
	plain, err := pack.OpenBlob(r.key, r.cfg.ID, e, sealed)
	if err != nil {
		return nil, fmt.Errorf("data blob %s in pack %s: %w", id.Short(), loc.Pack.Short(), err)
	}
	return plain, nil
}

// loadTreeBlob serves manifest nodes from whole cached packs: a walk touches many
// nodes of the same few packs.
func (r *Repo) loadTreeBlob(ctx context.Context, loc index.Location, e pack.Entry) ([]byte, error) {
	name := loc.Pack.String()
	if sealed, ok := r.cache.getRange("packs", name, int64(loc.Offset), int64(loc.Length)); ok {
		if plain, err := pack.OpenBlob(r.key, r.cfg.ID, e, sealed); err == nil {
			return plain, nil
		}
		r.cache.remove("packs", name)
	}
	data, ok := r.damaged.get(name)
	if !ok {
		size, _ := r.idx.PackSize(loc.Pack)
		h := remote.Handle{Type: remote.Data, Name: name}
		var err error
		if data, err = remote.ReadAll(ctx, r.store, h, 0, int64(size), pack.MaxPackSize); err != nil {
			return nil, fmt.Errorf("tree blob %s in pack %s: %w", e.ID.Short(), loc.Pack.Short(), err)
		}
		if digest.Of(data) == loc.Pack {
			r.cache.put("packs", name, data)
		} else {
			// A damaged byte must cost only the blob it is in: every blob is still
			// authenticated on its own, and verify names the damaged pack.
			r.damaged.put(name, data)
		}
	}
	plain, err := openIn(r, data, e)
	if err != nil {
		return nil, fmt.Errorf("tree blob %s in pack %s: %w", e.ID.Short(), loc.Pack.Short(), err)
	}
	return plain, nil
}

// damagedPacks keeps, for this process only, the bytes of a few tree packs whose hash
// is wrong, so that the sound nodes in them are read without fetching the pack again
// for each; they are never written to the cache.
type damagedPacks struct {
	mu    sync.Mutex
	packs map[string][]byte
}

// maxDamagedPacks bounds the memory damagedPacks holds (packs are 16 MiB at most by
// default); beyond it a damaged pack is fetched again for each node.
const maxDamagedPacks = 4

func (d *damagedPacks) get(name string) ([]byte, bool) {
	d.mu.Lock()
	defer d.mu.Unlock()
	data, ok := d.packs[name]
	return data, ok
}

func (d *damagedPacks) put(name string, data []byte) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.packs == nil {
		d.packs = map[string][]byte{}
	}
	if len(d.packs) < maxDamagedPacks {
		d.packs[name] = data
	}
}

func openIn(r *Repo, data []byte, e pack.Entry) ([]byte, error) {
	end := uint64(e.Offset) + uint64(e.Length)
	if end > uint64(len(data)) {
		return nil, fmt.Errorf("%w: blob ends at %d, pack has %d bytes", ErrCorrupt, end, len(data))
	}
	return pack.OpenBlob(r.key, r.cfg.ID, e, data[e.Offset:end])
}
