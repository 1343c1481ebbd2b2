package restore

import (
	"context"
	"fmt"

	"github.com/cairn-backup/cairn/internal/digest"
	"github.com/cairn-backup/cairn/internal/index"
	"github.com/cairn-backup/cairn/internal/pack"
	"github.com/cairn-backup/cairn/internal/repo"
	"golang.org/x/sync/errgroup"
)

// blobJob is one blob to fetch and every file and offset it is written to: a chunk
// shared by many files is fetched and opened once.
type blobJob struct {
	e    pack.Entry
	uses []blobUse
}

type blobUse struct {
	f   *fileNode
	off int64
}

// packJob is the blobs needed from one pack, all fetched by one worker.
type packJob struct {
	id    digest.ID
	blobs map[digest.ID]*blobJob
	order []pack.Entry
}

// jobs groups the chunks of the files to write by pack, in the order the files come,
// so that files complete early and few are open at a time. Files with nothing to
// fetch (empty, all holes, or lacking a chunk) are returned apart.
func (e *run) jobs(p *plan) (packs []*packJob, direct []*fileNode) {
	byID := map[digest.ID]*blobJob{}
	byPack := map[digest.ID]*packJob{}
	zeros := map[uint32]digest.ID{}
	idx := e.r.Index()
	for _, f := range p.files {
		if f.act != actWrite {
			continue
		}
		var off int64
		for _, c := range f.chunks {
			use := blobUse{f: f, off: off}
			off += int64(c.Size)
			if f.sparse && c.ID == zeroID(zeros, c.Size) {
				e.prog.Bytes.Add(int64(c.Size)) // a hole: nothing to write
				continue
			}
			j := byID[c.ID]
			if j == nil {
				loc, ok := idx.Lookup(index.Data, c.ID)
				if !ok {
					f.w.err = fmt.Errorf("chunk %s at offset %d: %w", c.ID.Short(), use.off, repo.ErrBlobNotFound)
					break
				}
				j = &blobJob{e: pack.Entry{Type: pack.Data, ID: c.ID, Offset: loc.Offset, Length: loc.Length}}
				byID[c.ID] = j
				pj := byPack[loc.Pack]
				if pj == nil {
					pj = &packJob{id: loc.Pack, blobs: map[digest.ID]*blobJob{}}
					byPack[loc.Pack] = pj
					packs = append(packs, pj)
				}
				pj.blobs[c.ID] = j
				pj.order = append(pj.order, j.e)
			}
			j.uses = append(j.uses, use)
			f.w.pending++
		}
		if f.w.pending == 0 {
			direct = append(direct, f)
		}
	}
	return packs, direct
}

// zeroID returns the id of a chunk of size zero bytes: a sparse file's chunks with
// that id are holes, neither fetched nor written.
func zeroID(cache map[uint32]digest.ID, size uint32) digest.ID {
	id, ok := cache[size]
	if !ok {
		id = digest.Of(make([]byte, size))
		cache[size] = id
	}
	return id
}

// fill writes every file, link and other entry. Pack readers (Workers of them) stream
// sealed blobs; writers (more of them, as creating files is slow) open each blob on
// their own core and write it wherever it is used. Memory holds at most one blob per
// reader and per writer.
func (e *run) fill(ctx context.Context, p *plan) error {
	packs, direct := e.jobs(p)
	if e.opts.DryRun {
		e.dryFill(p)
		return nil
	}
	e.probeTmpfile()
	w, wctx := errgroup.WithContext(ctx)
	w.SetLimit(e.opts.writers())
	readers, rctx := errgroup.WithContext(wctx)
	readers.SetLimit(e.opts.workers())
	var feed errgroup.Group
	feed.Go(func() error {
		for _, pj := range packs {
			if rctx.Err() != nil {
				break
			}
			readers.Go(func() error { return e.fetch(rctx, wctx, w, pj) })
		}
		return readers.Wait()
	})
	e.dispatch(wctx, w, p, direct)
	err := feed.Wait()
	if werr := w.Wait(); err == nil {
		err = werr
	}
	if err != nil {
		e.abandon(p)
	}
	return err
}

// dispatch hands the writers everything that needs no data: empty files, links of
// files left in place, symlinks, FIFOs and devices.
func (e *run) dispatch(ctx context.Context, w *errgroup.Group, p *plan, direct []*fileNode) {
	do := func(fn func()) bool {
		if ctx.Err() != nil {
			return false
		}
		w.Go(func() error { fn(); return nil })
		return true
	}
	for _, f := range direct {
		if !do(func() { e.finishFile(f) }) {
			return
		}
	}
	for _, o := range p.others {
		if !do(func() { e.makeOther(o) }) {
			return
		}
	}
	for _, f := range p.files {
		switch {
		case len(f.links) == 0:
		case f.act == actUnchanged || f.act == actKeep:
			if !do(func() { e.linkAll(f) }) {
				return
			}
		case f.act == actSkip:
			e.lostLinks(f)
		}
	}
}

// abandon removes the temporary files of an interrupted run's incomplete files (a
// killed run's are removed by the next one).
func (e *run) abandon(p *plan) {
	for _, f := range p.files {
		f.w.mu.Lock()
		e.closeTemp(f)
		e.discard(f)
		f.w.mu.Unlock()
	}
}

// fetch reads the blobs of one pack and hands each to a writer. Writers run under
// wctx: the readers' context ends as soon as the last pack is read.
func (e *run) fetch(ctx, wctx context.Context, w *errgroup.Group, pj *packJob) error {
	return e.r.ReadSealed(ctx, pj.id, pj.order, alloc, func(be pack.Entry, sealed []byte, err error) error {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		j := pj.blobs[be.ID]
		if j == nil {
			return nil // ReadSealed hands back only what it was given
		}
		w.Go(func() error {
			if wctx.Err() != nil {
				free(sealed)
				return wctx.Err() // the file stays incomplete and is discarded
			}
			b := e.open(wctx, pj.id, be, sealed, err)
			for _, u := range j.uses {
				e.write(u.f, u.off, b.plain, b.err)
			}
			b.release()
			return nil
		})
		return nil
	})
}

// opened is a blob opened in place: plain aliases one of bufs, recycled once it is
// written.
type opened struct {
	plain []byte
	err   error
	bufs  [2][]byte // the sealed buffer and, for a compressed blob, the decoded one
}

func (b *opened) release() {
	for _, buf := range b.bufs {
		if buf != nil {
			free(buf)
		}
	}
}

// open opens a sealed blob in its own buffer. One that was read but does not open is
// read once more, so that a transient fault (a byte flipped in transit) is not
// reported as damage.
func (e *run) open(ctx context.Context, p digest.ID, be pack.Entry, sealed []byte, err error) *opened {
	b := &opened{err: err}
	if err != nil {
		return b
	}
	b.plain, b.err = e.openInto(b, p, be, sealed)
	if b.err == nil || ctx.Err() != nil {
		return b
	}
	b.release()
	b.bufs = [2][]byte{}
	rerr := e.r.ReadSealed(ctx, p, []pack.Entry{be}, alloc, func(_ pack.Entry, again []byte, aerr error) error {
		b.plain, b.err = nil, aerr
		if aerr == nil {
			b.plain, b.err = e.openInto(b, p, be, again)
		}
		return nil
	})
	if rerr != nil {
		b.err = rerr
	}
	return b
}

// openInto opens sealed in place and records the buffers that plain may alias.
func (e *run) openInto(b *opened, p digest.ID, be pack.Entry, sealed []byte) ([]byte, error) {
	b.bufs[0] = sealed
	return e.r.OpenSealed(p, be, sealed, func(n int) []byte {
		b.bufs[1] = alloc(n)
		return b.bufs[1]
	})
}

// dryFill counts what fill would do.
func (e *run) dryFill(p *plan) {
	for _, f := range p.files {
		switch {
		case f.act == actWrite && f.w.err != nil:
			e.problem(f.path, f.w.err)
			continue
		case f.act == actWrite:
			e.count("restore", f.path, &e.res.Files)
			e.mu.Lock()
			e.res.Bytes += f.size
			e.mu.Unlock()
		case f.act == actSkip:
			e.lostLinks(f)
			continue
		}
		e.linkAll(f)
	}
	for _, o := range p.others {
		e.makeOther(o)
	}
}
