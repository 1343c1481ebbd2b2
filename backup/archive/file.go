package archive

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"sync"
	"sync/atomic"

	"github.com/cairn-backup/cairn/internal/fsys"
	"github.com/cairn-backup/cairn/internal/repo"
	"github.com/cairn-backup/cairn/manifest"
	"github.com/restic/chunker"
)

// maxReads bounds how often a file that keeps changing while it is read is tried.
const maxReads = 3

// errChanged reports a file that changed under every read: storing it would store a
// splice of two versions.
var errChanged = errors.New("file changed while it was read")

// file reuses the parent's content when the file is unchanged, and otherwise hands it
// to a reader that fills in s.
func (b *run) file(ctx context.Context, s *entrySlot, path string, info fsys.Info, e manifest.Entry, prev *manifest.Entry) {
	b.stats.Files.Add(1)
	b.stats.Bytes.Add(info.Size)
	if b.reusable(ctx, info, prev) {
		b.stats.Unchanged.Add(1)
		e.Content, e.Chunks, e.Lists = prev.Content, prev.Chunks, prev.Lists
		s.fill(e)
		return
	}
	counted := &b.stats.NewFiles
	if prev != nil {
		counted = &b.stats.Changed
	}
	counted.Add(1)
	if b.opts.Changed != nil {
		b.opts.Changed(path, prev == nil, info.Size)
	}
	slot := s
	if info.Nlink >= 2 {
		// The first name's read gets a slot of its own, so that the link table keeps
		// no directory's slots alive.
		slot = newSlot()
		if leader := b.links.join(info, slot); leader != nil {
			s.follow(leader, e) // another name of a file already being read
			return
		}
		s.from, s.whole = slot, true
	} else {
		s.start()
	}
	b.read(slot, path, e, func() { // an unreadable file is in no count but the errors
		counted.Add(-1)
		b.stats.Files.Add(-1)
		b.stats.Bytes.Add(-info.Size)
	})
}

// read fills in slot from a reader. A function of its own, so that the closure's
// copy of e is allocated only for files that are read, not for every file.
func (b *run) read(slot *entrySlot, path string, e manifest.Entry, uncount func()) {
	b.files.Go(func() error {
		ce, err := b.readFile(b.gctx, path, e)
		if err != nil && !errors.Is(err, errSkipped) && b.gctx.Err() == nil && !isFatal(err) {
			b.sourceError(path, err)
			uncount()
			err = errSkipped
		}
		slot.set(ce, err)
		if isFatal(err) {
			return b.fail(err)
		}
		return nil
	})
}

// reusable: same size, mtime, ctime and inode as in the parent, and its data still indexed.
func (b *run) reusable(ctx context.Context, info fsys.Info, prev *manifest.Entry) bool {
	if b.opts.Force || prev == nil || prev.Type != manifest.File {
		return false
	}
	if prev.Size != uint64(info.Size) || prev.MTime != info.MTime || prev.CTime != info.CTime || prev.Inode != info.Inode {
		return false
	}
	return b.present(ctx, prev)
}

// present checks the parent's blobs are still indexed, so a lost pack is re-uploaded
// by the next backup instead of being referenced forever.
func (b *run) present(ctx context.Context, e *manifest.Entry) bool {
	for _, c := range e.Chunks {
		if ok, err := b.store.Has(ctx, repo.DataBlob, c.ID); err != nil || !ok {
			return false
		}
	}
	for _, id := range e.Lists {
		if ok, err := b.store.Has(ctx, repo.TreeBlob, id); err != nil || !ok {
			return false
		}
	}
	return true
}

// readFile chunks and stores a file, re-reading it when it changed during the read.
func (b *run) readFile(ctx context.Context, path string, e manifest.Entry) (manifest.Entry, error) {
	for try := 1; ; try++ {
		if err := ctx.Err(); err != nil {
			return e, err
		}
		chunks, before, err := b.readOnce(ctx, path)
		if err != nil {
			return e, err
		}
		if before.stable {
			e.Size, e.MTime, e.CTime, e.Inode = uint64(before.info.Size), before.info.MTime, before.info.CTime, before.info.Inode
			if err := manifest.WriteChunks(ctx, b.store, &e, chunks); err != nil {
				return e, fatal(err)
			}
			return e, nil
		}
		if try == maxReads {
			return e, errChanged
		}
	}
}

type readState struct {
	info   fsys.Info
	stable bool
}

// readOnce reads the file once and reports whether it stayed the same throughout.
func (b *run) readOnce(ctx context.Context, path string) ([]manifest.Chunk, readState, error) {
	f, err := fsys.OpenFile(path)
	if err != nil {
		return nil, readState{}, err
	}
	defer f.Close()
	before, err := fsys.Fstat(f)
	if err != nil {
		return nil, readState{}, err
	}
	if before.Kind != fsys.Regular {
		return nil, readState{}, fmt.Errorf("no longer a regular file")
	}
	chunks, n, err := b.chunkFile(ctx, source(f, before, &b.stats.BytesRead), before.Size)
	if err != nil {
		return nil, readState{}, err
	}
	after, err := fsys.Fstat(f)
	if err != nil {
		return nil, readState{}, err
	}
	stable := n == before.Size && after.Size == before.Size && after.MTime == before.MTime && after.CTime == before.CTime
	return chunks, readState{info: before, stable: stable}, nil
}

// source is the reader of a file's content, which counts the bytes it reads from the
// disk in read. A file with holes is read by its data extents: the holes read as
// zeros without touching the disk, so the chunker sees the same bytes either way.
func source(f *os.File, info fsys.Info, read *atomic.Int64) io.Reader {
	if info.Sparse() {
		return fsys.NewExtentReader(f, info.Size, read)
	}
	return countingReader{f, read}
}

type countingReader struct {
	rd   io.Reader
	read *atomic.Int64
}

func (c countingReader) Read(p []byte) (int, error) {
	n, err := c.rd.Read(p)
	c.read.Add(int64(n))
	return n, err
}

// chunkFile cuts the file into chunks and stores them on the chunk workers; the
// chunks of one file are sealed in parallel and land in whichever packs are open.
func (b *run) chunkFile(ctx context.Context, f io.Reader, size int64) ([]manifest.Chunk, int64, error) {
	c := &chunkSink{b: b, ctx: ctx}
	if size < int64(b.cfg.MinChunk) {
		// A file shorter than the minimum chunk is one chunk: skip the chunker and
		// its 512 KiB window, which dominated backups of many small files.
		if err := c.small(f, size); err != nil {
			return nil, 0, err
		}
		return c.finish()
	}
	ch := b.chunkers.get(f, b)
	defer b.chunkers.put(ch)
	for {
		buf := b.chunks.get()
		next, err := ch.Next(*buf)
		if err == io.EOF {
			b.chunks.put(buf)
			break
		}
		if err != nil {
			b.chunks.put(buf)
			c.wg.Wait()
			return nil, 0, err
		}
		c.save(next.Data, func() { b.chunks.put(buf) })
	}
	return c.finish()
}

// chunkSink collects the chunks of one file as the workers store them.
type chunkSink struct {
	b       *run
	ctx     context.Context
	results []*manifest.Chunk
	wg      sync.WaitGroup
	total   int64
	mu      sync.Mutex
	err     error
}

func (c *chunkSink) small(f io.Reader, size int64) error {
	if size == 0 {
		return nil // an empty file has no chunks
	}
	buf := c.b.small.get()
	data := (*buf)[:size]
	if _, err := io.ReadFull(f, data); err != nil {
		c.b.small.put(buf)
		if errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF) {
			return nil // shrank while read: the stability check re-reads it
		}
		return err
	}
	c.save(data, func() { c.b.small.put(buf) })
	return nil
}

// save hands one chunk to a worker; release returns its buffer.
func (c *chunkSink) save(data []byte, release func()) {
	b := c.b
	c.total += int64(len(data))
	res := &manifest.Chunk{Size: uint32(len(data))}
	c.results = append(c.results, res)
	c.wg.Add(1)
	b.blobs.Go(func() error {
		defer c.wg.Done()
		defer release()
		id, stored, err := b.store.SaveBlob(c.ctx, repo.DataBlob, data)
		if err != nil {
			err = b.fail(err)
			c.mu.Lock()
			c.err = err
			c.mu.Unlock()
			return err
		}
		res.ID = id
		if stored > 0 {
			b.stats.BytesAdded.Add(int64(len(data)))
			b.stats.BytesStored.Add(int64(stored))
		}
		return nil
	})
}

func (c *chunkSink) finish() ([]manifest.Chunk, int64, error) {
	c.wg.Wait()
	if c.err != nil {
		return nil, 0, c.err
	}
	out := make([]manifest.Chunk, len(c.results))
	for i, r := range c.results {
		out[i] = *r
	}
	return out, c.total, nil
}

// fatalError marks a repository failure: it ends the backup, unlike an unreadable source.
type fatalError struct{ err error }

func (f fatalError) Error() string { return f.err.Error() }
func (f fatalError) Unwrap() error { return f.err }

func fatal(err error) error {
	if err == nil || isFatal(err) {
		return err
	}
	return fatalError{err}
}

func isFatal(err error) bool {
	var f fatalError
	return errors.As(err, &f) || errors.Is(err, context.Canceled)
}

// bufPool recycles chunk buffers: memory stays at a few chunks per worker.
type bufPool struct{ pool sync.Pool }

func newBufPool(size int) *bufPool {
	return &bufPool{pool: sync.Pool{New: func() any { b := make([]byte, size); return &b }}}
}

func (p *bufPool) get() *[]byte  { return p.pool.Get().(*[]byte) }
func (p *bufPool) put(b *[]byte) { p.pool.Put(b) }

// chunkerPool reuses chunkers, whose read window is allocated once.
type chunkerPool struct{ pool sync.Pool }

func (p *chunkerPool) get(rd io.Reader, b *run) *chunker.Chunker {
	if ch, ok := p.pool.Get().(*chunker.Chunker); ok {
		ch.ResetWithBoundaries(rd, b.pol, b.cfg.MinChunk, b.cfg.MaxChunk)
		ch.SetAverageBits(int(b.cfg.AvgBits))
		return ch
	}
	ch := chunker.NewWithBoundaries(rd, b.pol, b.cfg.MinChunk, b.cfg.MaxChunk)
	ch.SetAverageBits(int(b.cfg.AvgBits))
	return ch
}

func (p *chunkerPool) put(ch *chunker.Chunker) { p.pool.Put(ch) }
