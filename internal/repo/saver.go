package repo

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/cairn-backup/cairn/internal/digest"
	"github.com/cairn-backup/cairn/internal/index"
	"github.com/cairn-backup/cairn/internal/pack"
	"github.com/cairn-backup/cairn/remote"
)

// checkpointPacks is how many uploaded packs accumulate before an index segment is
// written mid-run, so a killed backup's uploads are found by the next one.
const checkpointPacks = 16

type blobKey struct {
	t  BlobType
	id digest.ID
}

// claim marks a blob as being stored; false means it is already stored or in flight.
func (s *Writer) claim(k blobKey) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.inflight[k]; ok || s.stored(k) {
		return false
	}
	s.inflight[k] = struct{}{}
	return true
}

// stored reports whether the index holds the blob outside the packs being replaced.
func (s *Writer) stored(k blobKey) bool {
	if s.replace == nil {
		return s.r.idx.Has(k.t, k.id)
	}
	loc, ok := s.r.idx.Lookup(k.t, k.id)
	return ok && !s.replace[loc.Pack]
}

func (s *Writer) unclaim(k blobKey) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.inflight, k)
}

// SaveBlob stores data as a blob of type t unless the repository already has it. It
// returns the blob's id and the bytes it added to the repository (sealed and
// compressed; 0 when the blob was already there). It is safe for concurrent use; call
// Flush once all calls have returned.
func (s *Writer) SaveBlob(ctx context.Context, t BlobType, data []byte) (digest.ID, int, error) {
	id := digest.Of(data)
	if err := s.r.LoadIndex(ctx); err != nil {
		return id, 0, err
	}
	if len(data) > pack.MaxBlobSize {
		return id, 0, fmt.Errorf("blob of %d bytes exceeds %d", len(data), pack.MaxBlobSize)
	}
	if err := ctx.Err(); err != nil {
		return id, 0, err
	}
	n, err := s.add(blobKey{t, id}, func(w *pack.Writer) (pack.Entry, error) { return w.Add(t, id, data) })
	return id, n, err
}

// add stores blob k into an open pack of its type with fn, unless the repository
// already has it, and starts the pack's upload once it is full. It returns the
// sealed bytes added (0 when the blob was there).
func (s *Writer) add(k blobKey, fn func(w *pack.Writer) (pack.Entry, error)) (int, error) {
	if !s.claim(k) {
		return 0, nil
	}
	g, gctx := s.group()
	if err := gctx.Err(); err != nil {
		s.unclaim(k)
		return 0, s.failure(gctx, err)
	}
	pool := s.pools[k.t]
	op, err := pool.take(gctx, s.r)
	if err != nil {
		s.unclaim(k)
		return 0, s.failure(gctx, err)
	}
	e, err := fn(op.w)
	if err != nil {
		pool.put(op)
		s.unclaim(k)
		return 0, err
	}
	if op.w.Size() < s.r.cfg.PackSize {
		pool.put(op)
		return int(e.Length), nil
	}
	pool.retire()
	g.Go(func() error { return s.upload(gctx, op) })
	return int(e.Length), nil
}

// SaveTree stores a manifest node; *Writer is a manifest.BlobSaver.
func (s *Writer) SaveTree(ctx context.Context, data []byte) (digest.ID, error) {
	id, _, err := s.SaveBlob(ctx, TreeBlob, data)
	return id, err
}

// Has reports whether the index, or a pack this session is writing, holds the blob.
func (s *Writer) Has(ctx context.Context, t BlobType, id digest.ID) (bool, error) {
	r := s.r
	if err := r.LoadIndex(ctx); err != nil {
		return false, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	_, inflight := s.inflight[blobKey{t, id}]
	return inflight || s.stored(blobKey{t, id}), nil
}

// failure prefers the upload error that cancelled the group over "context canceled":
// the first recorded failure, or else the group's cause (an upload whose index
// segment could not be written returns its error without recording it).
func (s *Writer) failure(gctx context.Context, err error) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.err != nil {
		return s.err
	}
	if c := context.Cause(gctx); c != nil {
		return c
	}
	return err
}

func (s *Writer) fail(err error, entries []pack.Entry) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.err == nil {
		s.err = err
	}
	for _, e := range entries {
		delete(s.inflight, blobKey{e.Type, e.ID})
	}
	return err
}

// upload finishes a pack and stores it. Its blobs become known once the upload is
// checked: at once by Put, or in a batch by the store's Confirm.
func (s *Writer) upload(ctx context.Context, op *openPack) error {
	_, id, entries, err := op.w.Finish()
	if err != nil {
		op.discard()
		return s.fail(fmt.Errorf("write pack: %w", err), entries)
	}
	sp := sentPack{op: op, entries: entries, at: time.Now(),
		pack: index.Pack{ID: id, Size: uint64(op.w.Len()), Blobs: toIndexBlobs(entries)}}
	h := remote.Handle{Type: remote.Data, Name: id.String()}
	if s.conf == nil {
		err = op.store(ctx, s.r.store, h)
	} else {
		sp.sent, err = s.conf.PutUnconfirmed(ctx, h, op.body())
	}
	if err != nil {
		op.discard()
		return s.fail(fmt.Errorf("upload pack %s: %w", id.Short(), err), entries)
	}
	if s.conf == nil {
		return s.indexed(ctx, []sentPack{sp})
	}
	packs, segs := s.queue(sp)
	return s.confirm(ctx, packs, segs)
}

// indexed makes the blobs of checked packs known, and writes an index segment every
// checkpointPacks packs.
func (s *Writer) indexed(ctx context.Context, packs []sentPack) error {
	var err error
	s.mu.Lock()
	for _, sp := range packs {
		err = errors.Join(err, s.r.idx.AddPack(sp.pack))
		for _, e := range sp.entries {
			delete(s.inflight, blobKey{e.Type, e.ID})
		}
		s.pending = append(s.pending, sp.pack)
		s.uploaded[sp.pack.ID] = sp.at
		s.r.wrotePack(sp.pack.ID)
	}
	var batch []index.Pack
	if len(s.pending) >= checkpointPacks {
		batch, s.pending = s.pending, nil
	}
	s.mu.Unlock()
	for _, sp := range packs {
		if sp.entries[0].Type == pack.Tree {
			s.r.cache.putFrom("packs", sp.pack.ID.String(), sp.op.body())
		}
		sp.op.discard()
	}
	if err != nil {
		return err
	}
	return s.writeSegment(ctx, batch)
}

func (s *Writer) writeSegment(ctx context.Context, packs []index.Pack) error {
	packs = s.stillStored(ctx, packs)
	for len(packs) > 0 {
		n := segmentBatch(packs)
		seg := &index.Segment{Packs: packs[:n]}
		if err := seg.Validate(); err != nil {
			return err
		}
		if err := s.saveSegment(ctx, seg); err != nil {
			s.mu.Lock()
			s.pending = append(s.pending, packs...)
			s.mu.Unlock()
			return err
		}
		packs = packs[n:]
	}
	return nil
}

// saveSegment stores a segment; with a Confirmer, unchecked until the next Confirm.
func (s *Writer) saveSegment(ctx context.Context, seg *index.Segment) error {
	if s.conf == nil {
		id, err := s.r.saveObject(ctx, remote.Index, seg.Encode())
		if err == nil {
			s.r.wroteSegment(id, seg)
		}
		return err
	}
	id, h, sealed := s.r.sealObject(remote.Index, seg.Encode())
	s.r.wroteSegment(id, seg)
	sent, err := s.conf.PutUnconfirmed(ctx, h, remote.Bytes(sealed))
	if err != nil {
		return fmt.Errorf("write %s: %w", h, err)
	}
	s.r.cacheObject(remote.Index, h, sealed)
	s.mu.Lock()
	s.sentSegs = append(s.sentSegs, sentSegment{sent: sent, sealed: sealed})
	s.mu.Unlock()
	return nil
}

// segmentBatch returns how many packs go into one segment: segments stay far below
// index.MaxSegmentSize even when packs hold many tiny blobs.
func segmentBatch(packs []index.Pack) int {
	const maxBytes = 8 << 20
	size := 0
	for i, p := range packs {
		size += 48 + len(p.Blobs)*48
		if size > maxBytes && i > 0 {
			return i
		}
	}
	return len(packs)
}

// Flush uploads every open pack, waits for all uploads, and writes the index segment
// that names them. After Flush returns nil every saved blob is durable and indexed.
// After a failure, what was uploaded waits for Abort. The session may go on after a
// successful Flush.
func (s *Writer) Flush(ctx context.Context) error {
	g, gctx := s.group()
	for _, pool := range s.pools {
		for _, op := range pool.drain() {
			g.Go(func() error { return s.upload(gctx, op) })
		}
	}
	err := g.Wait()
	s.mu.Lock()
	s.g, s.err = nil, nil
	s.mu.Unlock()
	if err != nil {
		return err
	}
	return s.settle(ctx)
}

func toIndexBlobs(entries []pack.Entry) []index.Blob {
	out := make([]index.Blob, len(entries))
	for i, e := range entries {
		out[i] = index.Blob{Type: e.Type, ID: e.ID, Offset: e.Offset, Length: e.Length}
	}
	return out
}

// staleUpload is how long after its upload began a pack is looked for again before an index
// segment names it: less than the shortest grace period, after which a prune may take
// an unindexed pack for a crash leftover (docs/prune.md).
const staleUpload = 5 * time.Second

// stillStored leaves out the packs sent longer than staleUpload ago that the
// storage no longer has: a run stopped for long (SIGSTOP, a suspended laptop) may have
// lost them to a prune, and an index naming them would read as damage. The snapshot
// that needs them is then refused by CheckReuse. Fast runs index their packs sooner
// and pay nothing.
func (s *Writer) stillStored(ctx context.Context, packs []index.Pack) []index.Pack {
	kept := packs[:0:0]
	for _, p := range packs {
		s.mu.Lock()
		at, ok := s.uploaded[p.ID]
		delete(s.uploaded, p.ID)
		s.mu.Unlock()
		if ok && time.Since(at) > staleUpload {
			_, err := s.r.store.Stat(ctx, remote.Handle{Type: remote.Data, Name: p.ID.String()})
			if errors.Is(err, remote.ErrNotFound) {
				continue
			}
		}
		kept = append(kept, p)
	}
	return kept
}
