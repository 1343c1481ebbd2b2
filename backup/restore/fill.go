package restore

import (
	"context"
	"fmt"

	"github.com/cairn-backup/cairn/internal/digest"
	"github.com/cairn-backup/cairn/internal/repo"
	"golang.org/x/sync/errgroup"
)

// blobJob is one blob to fetch and every file and offset it is written to: a chunk
// shared by many files is fetched and opened once.
type blobJob struct {
	b    repo.Blob
	uses []blobUse
}

type blobUse struct {
	f   *fileNode
	off int64
}

// fetchList is the blobs to fetch, in the order the files come (ReadBlobs groups them
// by pack in that order, so that files complete early and few are open at a time).
type fetchList struct {
	order []repo.Blob
	jobs  map[digest.ID]*blobJob
}

// jobs lists the chunks of the files to write. Files with nothing to fetch (empty,
// all holes, or lacking a chunk) are returned apart.
func (e *run) jobs(p *plan) (fl fetchList, direct []*fileNode) {
	fl.jobs = map[digest.ID]*blobJob{}
	zeros := map[uint32]digest.ID{}
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
			j := fl.jobs[c.ID]
			if j == nil {
				b, ok := e.r.Lookup(repo.DataBlob, c.ID)
				if !ok {
					f.w.err = fmt.Errorf("chunk %s at offset %d: %w", c.ID.Short(), use.off, repo.ErrBlobNotFound)
					break
				}
				j = &blobJob{b: b}
				fl.jobs[c.ID] = j
				fl.order = append(fl.order, b)
			}
			j.uses = append(j.uses, use)
			f.w.pending++
		}
		if f.w.pending == 0 {
			direct = append(direct, f)
		}
	}
	return fl, direct
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
	fl, direct := e.jobs(p)
	if e.opts.DryRun {
		e.dryFill(p)
		return nil
	}
	e.probeTmpfile()
	w, wctx := errgroup.WithContext(ctx)
	w.SetLimit(e.opts.writers())
	var feed errgroup.Group
	feed.Go(func() error { return e.fetch(wctx, w, fl) })
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

// fetch reads the blobs (Workers packs at once) and hands each to a writer. Writers
// run under wctx, which outlives the reads.
func (e *run) fetch(wctx context.Context, w *errgroup.Group, fl fetchList) error {
	opts := repo.ReadOptions{Workers: e.opts.workers(), Alloc: alloc}
	return e.r.ReadBlobs(wctx, fl.order, opts, func(b repo.Blob, sealed []byte, err error) error {
		j := fl.jobs[b.ID]
		if j == nil {
			return nil // ReadBlobs hands back only what it was given
		}
		w.Go(func() error {
			if wctx.Err() != nil {
				free(sealed)
				return wctx.Err() // the file stays incomplete and is discarded
			}
			o := e.open(wctx, b, sealed, err)
			for _, u := range j.uses {
				e.write(u.f, u.off, o.plain, o.err)
			}
			o.release()
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
func (e *run) open(ctx context.Context, be repo.Blob, sealed []byte, err error) *opened {
	b := &opened{err: err}
	if err != nil {
		return b
	}
	b.plain, b.err = e.openInto(b, be, sealed)
	if b.err == nil || ctx.Err() != nil {
		return b
	}
	b.release()
	b.bufs = [2][]byte{}
	rerr := e.r.ReadBlobs(ctx, []repo.Blob{be}, repo.ReadOptions{Alloc: alloc}, func(_ repo.Blob, again []byte, aerr error) error {
		b.plain, b.err = nil, aerr
		if aerr == nil {
			b.plain, b.err = e.openInto(b, be, again)
		}
		return nil
	})
	if rerr != nil {
		b.err = rerr
	}
	return b
}

// openInto opens sealed in place and records the buffers that plain may alias.
func (e *run) openInto(b *opened, be repo.Blob, sealed []byte) ([]byte, error) {
	b.bufs[0] = sealed
	return e.r.OpenSealed(be, sealed, func(n int) []byte {
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
