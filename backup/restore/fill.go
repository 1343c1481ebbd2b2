package restore

import (
	"context"
	"fmt"

	"github.com/cairn-backup/cairn/internal/digest"
	"github.com/cairn-backup/cairn/internal/repo"
	"golang.org/x/sync/errgroup"
)

// blobUse is one place a fetched blob is written to.
type blobUse struct {
	f   *fileNode
	off int64
}

// fetchList is the blobs to fetch, in the order the files come (ReadBlobs groups them
// by pack in that order, so that files complete early and few are open at a time),
// and every file and offset each is written to: a chunk shared by many files is
// fetched and opened once. It holds no pointer per blob: order[i]'s first use is
// first[i], any others are in more[i].
type fetchList struct {
	order []repo.Blob
	at    map[digest.ID]int32 // index in order
	first []blobUse
	more  map[int32][]blobUse
}

// uses calls fn for every use of the blob at index i of order.
func (fl *fetchList) uses(i int32, fn func(blobUse)) {
	fn(fl.first[i])
	for _, u := range fl.more[i] {
		fn(u)
	}
}

// jobs lists the chunks of a batch of files to write. Files with nothing to fetch
// (empty, all holes, or lacking a chunk) are returned apart.
func (e *run) jobs(files []*fileNode, zeros map[uint32]digest.ID) (fl fetchList, direct []*fileNode) {
	n := 0
	for _, f := range files {
		if f.act == actWrite {
			n += len(f.chunks)
		}
	}
	fl = fetchList{order: make([]repo.Blob, 0, n), at: make(map[digest.ID]int32, n),
		first: make([]blobUse, 0, n), more: map[int32][]blobUse{}}
	for _, f := range files {
		if f.act != actWrite {
			continue
		}
		e.fileJobs(&fl, f, zeros)
		if f.w.pending == 0 {
			direct = append(direct, f)
		}
	}
	return fl, direct
}

// fileJobs adds the chunks of one file to fl.
func (e *run) fileJobs(fl *fetchList, f *fileNode, zeros map[uint32]digest.ID) {
	var off int64
	for _, c := range f.chunks {
		use := blobUse{f: f, off: off}
		off += int64(c.Size)
		if f.sparse && c.ID == zeroID(zeros, c.Size) {
			e.prog.Bytes.Add(int64(c.Size)) // a hole: nothing to write
			continue
		}
		if i, ok := fl.at[c.ID]; ok {
			fl.more[i] = append(fl.more[i], use)
			f.w.pending++
			continue
		}
		b, ok := e.r.Lookup(repo.DataBlob, c.ID)
		if !ok {
			f.w.err = fmt.Errorf("chunk %s at offset %d: %w", c.ID.Short(), use.off, repo.ErrBlobNotFound)
			return
		}
		fl.at[c.ID] = int32(len(fl.order))
		fl.order = append(fl.order, b)
		fl.first = append(fl.first, use)
		f.w.pending++
	}
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
// reader and per writer, and the fetch list of one batch of files.
func (e *run) fill(ctx context.Context, p *plan) error {
	if e.opts.DryRun {
		zeros := map[uint32]digest.ID{}
		for start := 0; start < len(p.files); {
			end := nextBatch(p.files, nil, start)
			e.jobs(p.files[start:end], zeros) // finds the files lacking a chunk
			start = end
		}
		e.dryFill(p)
		return nil
	}
	e.probeTmpfile()
	keys := e.packOrder(p.files) // before dispatch reads p.files
	w, wctx := errgroup.WithContext(ctx)
	w.SetLimit(e.opts.writers())
	var feed errgroup.Group
	feed.Go(func() error { return e.fetchAll(wctx, w, p.files, keys) })
	e.dispatch(wctx, w, p)
	err := feed.Wait()
	if werr := w.Wait(); err == nil {
		err = werr
	}
	if err != nil {
		e.abandon(p)
	}
	return err
}

// fetchAll fetches the files' blobs batch by batch (files and keys as packOrder left
// them), and hands the writers each file with nothing to fetch.
func (e *run) fetchAll(wctx context.Context, w *errgroup.Group, files []*fileNode, keys []uint64) error {
	zeros := map[uint32]digest.ID{}
	for start := 0; start < len(files); {
		end := nextBatch(files, keys, start)
		fl, direct := e.jobs(files[start:end], zeros)
		for _, f := range direct {
			if wctx.Err() != nil {
				return nil // the writers' error is the one reported
			}
			w.Go(func() error { e.finishFile(f); return nil })
		}
		if err := e.fetch(wctx, w, &fl); err != nil {
			return err
		}
		start = end
	}
	return nil
}

// dispatch hands the writers what needs no data and no file written by this run: links
// of files left in place, symlinks, FIFOs and devices.
func (e *run) dispatch(ctx context.Context, w *errgroup.Group, p *plan) {
	do := func(fn func()) bool {
		if ctx.Err() != nil {
			return false
		}
		w.Go(func() error { fn(); return nil })
		return true
	}
	for _, o := range p.others {
		if !do(func() { e.makeOther(o) }) {
			return
		}
	}
	for _, f := range p.files {
		switch {
		case f.links == nil:
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
func (e *run) fetch(wctx context.Context, w *errgroup.Group, fl *fetchList) error {
	opts := repo.ReadOptions{Workers: e.opts.workers(), Alloc: alloc}
	return e.r.ReadBlobs(wctx, fl.order, opts, func(b repo.Blob, sealed []byte, err error) error {
		i, ok := fl.at[b.ID]
		if !ok {
			return nil // ReadBlobs hands back only what it was given
		}
		w.Go(func() error {
			if wctx.Err() != nil {
				free(sealed)
				return wctx.Err() // the file stays incomplete and is discarded
			}
			o := e.open(wctx, b, sealed, err)
			fl.uses(i, func(u blobUse) { e.write(u.f, u.off, o.plain, o.err) })
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
			e.problem(f.path(), f.w.err)
			continue
		case f.act == actWrite:
			e.count("restore", f.path(), &e.res.Files)
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
