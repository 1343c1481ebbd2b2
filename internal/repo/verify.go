package repo

import (
	"context"
	"errors"
	"fmt"
	"io"
	"runtime"
	"sync"

	"github.com/cairn-backup/cairn/internal/crypto"
	"github.com/cairn-backup/cairn/internal/digest"
	"github.com/cairn-backup/cairn/internal/index"
	"github.com/cairn-backup/cairn/internal/pack"
	"github.com/cairn-backup/cairn/remote"
	"golang.org/x/sync/errgroup"
)

// What verify needs beyond the other commands: the raw packs, their listing, and an
// index load that names damaged segments instead of failing on the first.

// ListPacks lists data/ once and returns every pack's size. Names that are not pack
// ids come back as damage (ErrCorrupt) beside the good ones; a failed listing is an
// error and never an empty result.
func (r *Repo) ListPacks(ctx context.Context) (map[digest.ID]int64, []error, error) {
	infos, bad, err := r.ListPackInfos(ctx)
	if err != nil {
		return nil, nil, err
	}
	sizes := make(map[digest.ID]int64, len(infos))
	for id, i := range infos {
		sizes[id] = i.Size
	}
	return sizes, bad, nil
}

// ReadPack reads the first size bytes of a whole pack into buf, grown as needed, and
// returns them unchecked. A missing pack fails with ErrPackMissing (read.go); a store that
// returns fewer bytes than size fails with io.ErrUnexpectedEOF.
func (r *Repo) ReadPack(ctx context.Context, id digest.ID, size int64, buf []byte) ([]byte, error) {
	if size < 0 || size > pack.MaxPackSize {
		return nil, fmt.Errorf("read pack %s: %d bytes, above the limit of %d: %w", id.Short(), size, pack.MaxPackSize, ErrCorrupt)
	}
	if int64(cap(buf)) < size {
		buf = make([]byte, size)
	}
	buf = buf[:size]
	if size == 0 {
		return buf, nil
	}
	h := remote.Handle{Type: remote.Data, Name: id.String()}
	rd, err := r.store.Get(ctx, h, 0, size)
	if errors.Is(err, remote.ErrNotFound) {
		return nil, fmt.Errorf("read pack %s: %w", id.Short(), ErrPackMissing)
	}
	if err != nil {
		return nil, fmt.Errorf("read pack %s: %w", id.Short(), err)
	}
	defer rd.Close()
	if _, err := io.ReadFull(rd, buf); err != nil {
		if errors.Is(err, io.EOF) {
			err = io.ErrUnexpectedEOF
		}
		return nil, fmt.Errorf("read pack %s: %w", id.Short(), err)
	}
	return buf, nil
}

// ParsePack opens the header of pack p, held whole in data, and returns the blobs it
// lists (pack.ParsePack under this repository's key).
func (r *Repo) ParsePack(p digest.ID, data []byte) ([]Blob, error) {
	entries, err := pack.ParsePack(r.key, r.cfg.ID, data)
	if err != nil {
		return nil, err
	}
	out := make([]Blob, len(entries))
	for i, e := range entries {
		out[i] = blobOf(p, e)
	}
	return out, nil
}

// OpenIn authenticates, decompresses and hash-checks blob b of a pack held in data,
// which may be cut short (then b fails with pack.ErrCorrupt if it lies past the end).
func (r *Repo) OpenIn(data []byte, b Blob) ([]byte, error) { return r.openAt(nil, data, b) }

// openAt opens b from data with o's reused buffers, or without when o is nil.
func (r *Repo) openAt(o *pack.Opener, data []byte, b Blob) ([]byte, error) {
	if b.End() > int64(len(data)) { // the pack is cut short
		return nil, fmt.Errorf("blob ends at byte %d, the pack has %d: %w", b.End(), len(data), pack.ErrCorrupt)
	}
	sealed := data[b.Offset:b.End()]
	if o == nil {
		return pack.OpenBlob(r.key, r.cfg.ID, b.entry(), sealed)
	}
	return o.Open(r.key, r.cfg.ID, b.entry(), sealed)
}

// openBatch is about how many sealed bytes one opener slot opens in a row.
const openBatch = 1 << 20

// CheckBlobs opens blobs of a pack held whole in data, as OpenIn does, and calls fn
// with the index of each blob in blobs and why it does not open (nil: it does), from
// many goroutines. Decrypting, decompressing and hashing are the cost of reading data:
// runs of about openBatch sealed bytes of every pack being checked share one opener
// slot per core (and its buffers), so the last pack leaves no core idle while the
// blobs being opened, and so memory, stay few. It returns once every run is done, or
// early when ctx ends (the blobs not reached are not reported).
func (r *Repo) CheckBlobs(ctx context.Context, data []byte, blobs []Blob, fn func(i int, err error)) {
	slots := r.openerSlots()
	var g errgroup.Group
	g.SetLimit(cap(slots))
	for start := 0; start < len(blobs); {
		end, size := start, int64(0)
		for ; end < len(blobs) && (end == start || size < openBatch); end++ {
			size += int64(blobs[end].Length)
		}
		first, last := start, end
		g.Go(func() error {
			var op *pack.Opener
			select {
			case op = <-slots:
			case <-ctx.Done():
				return ctx.Err()
			}
			defer func() { slots <- op }() // never blocks: the slot was taken from it
			for i := first; i < last; i++ {
				_, err := r.openAt(op, data, blobs[i])
				fn(i, err)
			}
			return nil
		})
		start = end
	}
	_ = g.Wait()
}

// openerSlots returns the repository's opener slots, one per core, made on first use.
func (r *Repo) openerSlots() chan *pack.Opener {
	r.openersOnce.Do(func() {
		r.openers = make(chan *pack.Opener, runtime.GOMAXPROCS(0))
		for range cap(r.openers) {
			r.openers <- &pack.Opener{}
		}
	})
	return r.openers
}

// LoadIndexReport loads the index as LoadIndex does, except that a segment that is
// damaged (or lists a pack with another size than an earlier one) is returned among
// damaged and the others still load. Errors other than damage (an unreadable store)
// fail it. If the index was loaded already, it reports nothing damaged.
func (r *Repo) LoadIndexReport(ctx context.Context) (damaged []error, err error) {
	r.indexOnce.Do(func() {
		for attempt := 1; ; attempt++ { // a segment replaced meanwhile: as loadIndex
			damaged, r.indexErr = r.loadIndexLenient(ctx)
			if attempt == indexAttempts || !errors.Is(r.indexErr, remote.ErrNotFound) {
				return
			}
		}
	})
	return damaged, r.indexErr
}

func (r *Repo) loadIndexLenient(ctx context.Context) ([]error, error) {
	ids, listErr := r.listIDs(ctx, remote.Index)
	if listErr != nil && !errors.Is(listErr, ErrCorrupt) {
		return nil, listErr
	}
	var (
		mu      sync.Mutex
		damaged []error
		loaded  []digest.ID
		idx     = r.newIndex()
		g, gctx = errgroup.WithContext(ctx)
	)
	if listErr != nil {
		damaged = append(damaged, listErr)
	}
	g.SetLimit(4)
	for _, id := range ids {
		g.Go(func() error {
			err := r.addSegment(gctx, idx, id)
			if err != nil && !isIndexDamage(err) {
				return err
			}
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				damaged = append(damaged, err)
			} else {
				loaded = append(loaded, id)
			}
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		return nil, err
	}
	if len(damaged) > 0 { // find their blobs where a restore would: in the packs' headers
		n := len(r.indexDamage)
		if err := r.scanUnindexed(ctx, idx); err != nil {
			return nil, err
		}
		damaged = append(damaged, r.indexDamage[n:]...)
	}
	r.idx, r.segments = idx, loaded
	return damaged, nil
}

func (r *Repo) addSegment(ctx context.Context, idx *index.Index, id digest.ID) error {
	plain, err := r.loadRemote(ctx, remote.Index, id, index.MaxSegmentSize)
	if err != nil {
		return err
	}
	seg, err := index.DecodeSegment(plain)
	if err == nil {
		err = idx.AddSegment(seg)
	}
	if err != nil {
		return fmt.Errorf("index/%s: %w", id, err)
	}
	return nil
}

// LoadSnapshotRemote reads one snapshot record from the storage, not the cache, so
// that verify judges what the repository holds.
// A record that is not there fails with ErrSnapshotGone.
func (r *Repo) LoadSnapshotRemote(ctx context.Context, id digest.ID) ([]byte, error) {
	plain, err := r.loadRemote(ctx, remote.Snapshot, id, maxSnapshotSize)
	if errors.Is(err, remote.ErrNotFound) {
		return nil, fmt.Errorf("%w: %w", ErrSnapshotGone, err)
	}
	return plain, err
}

// loadRemote is loadObject past the cache: the cached copy is replaced by a good
// remote one and dropped when the remote one is damaged.
func (r *Repo) loadRemote(ctx context.Context, t remote.Type, id digest.ID, limit int64) ([]byte, error) {
	h := remote.Handle{Type: t, Name: id.String()}
	sealed, err := remote.ReadAll(ctx, r.store, h, 0, 0, limit+crypto.Overhead)
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", h, err)
	}
	plain, err := r.openObject(t, id, sealed)
	if cacheable(t) && err != nil {
		r.cache.remove(string(t), h.Name)
	} else if cacheable(t) {
		r.cache.put(string(t), h.Name, sealed)
	}
	return plain, err
}

func isIndexDamage(err error) bool { return IsDamage(err) || errors.Is(err, index.ErrCorrupt) }

// SaveIndexSegment stores an index segment as the backup does; tests use it to craft
// segments, and a repair can use it to index packs found unindexed.
func (r *Repo) SaveIndexSegment(ctx context.Context, seg *index.Segment) (digest.ID, error) {
	if err := seg.Validate(); err != nil {
		return digest.ID{}, err
	}
	return r.saveObject(ctx, remote.Index, seg.Encode())
}
