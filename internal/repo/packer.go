package repo

import (
	"context"
	"fmt"
	"io"
	"os"

	"github.com/cairn-backup/cairn/internal/pack"
)

// openPack is a pack being filled, streamed to a temporary file so that a backup
// holds a few chunks in memory, not a few packs.
type openPack struct {
	w *pack.Writer
	f *os.File
}

func (r *Repo) newOpenPack() (*openPack, error) {
	f, err := os.CreateTemp(r.opts.TempDir, "cairn-pack-*")
	if err != nil {
		return nil, fmt.Errorf("create temporary pack file: %w", err)
	}
	return &openPack{w: pack.NewStreamWriter(r.key, r.cfg.ID, r.opts.Compression, f), f: f}, nil
}

// body returns the finished pack's bytes for upload.
func (p *openPack) body() *io.SectionReader { return io.NewSectionReader(p.f, 0, int64(p.w.Len())) }

// discard closes and removes the temporary file.
func (p *openPack) discard() {
	name := p.f.Name()
	p.f.Close()
	os.Remove(name)
}

// packerPool hands out up to n open packs of one blob type. It creates all n before
// reusing any, so successive blobs (the chunks of one file) rotate over the open
// packs and a pack's size does not trace one file's chunk boundaries.
type packerPool struct {
	idle  chan *openPack
	slots chan struct{}
}

func newPackerPool(n int) *packerPool {
	return &packerPool{idle: make(chan *openPack, n), slots: make(chan struct{}, n)}
}

func (p *packerPool) take(ctx context.Context, r *Repo) (*openPack, error) {
	select {
	case p.slots <- struct{}{}:
		return p.create(r)
	default:
	}
	select {
	case op := <-p.idle:
		return op, nil
	case p.slots <- struct{}{}:
		return p.create(r)
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

func (p *packerPool) create(r *Repo) (*openPack, error) {
	op, err := r.newOpenPack()
	if err != nil {
		<-p.slots
	}
	return op, err
}

// put returns a pack that still has room.
func (p *packerPool) put(op *openPack) { p.idle <- op }

// retire frees the slot of a pack that left for upload.
func (p *packerPool) retire() { <-p.slots }

// drain removes every idle pack; empty ones are discarded. Callers must not be in
// take or put.
func (p *packerPool) drain() []*openPack {
	var out []*openPack
	for {
		select {
		case op := <-p.idle:
			<-p.slots
			if op.w.Count() > 0 {
				out = append(out, op)
			} else {
				op.discard()
			}
		default:
			return out
		}
	}
}
