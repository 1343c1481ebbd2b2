package repo

import (
	"context"
	"fmt"
	"io"
	"os"

	"github.com/cairn-backup/cairn/internal/pack"
	"github.com/cairn-backup/cairn/remote"
)

// openPack is a pack being filled, streamed to a temporary file so that a backup
// holds a few chunks in memory, not a few packs. On a store that takes files by
// rename (remote.FileTaker: a local directory) the file lies in the store already, and
// the finished pack is renamed into place instead of copied.
type openPack struct {
	w     *pack.Writer
	f     remote.TempFile
	taker remote.FileTaker // made f; nil: f is a file of Options.TempDir
}

func (r *Repo) newOpenPack() (*openPack, error) {
	taker, _ := r.store.(remote.FileTaker)
	var f remote.TempFile
	var err error
	if taker != nil {
		f, err = taker.CreateTemp(remote.Data)
	} else {
		f, err = createTemp(r.opts.TempDir)
	}
	if err != nil {
		return nil, fmt.Errorf("create temporary pack file: %w", err)
	}
	return &openPack{w: pack.NewStreamWriter(r.key, r.cfg.ID, r.opts.Compression, f), f: f, taker: taker}, nil
}

// body returns the finished pack's bytes for upload.
func (p *openPack) body() *io.SectionReader { return io.NewSectionReader(p.f, 0, int64(p.w.Len())) }

// store puts the finished pack under h: by rename when the store made its file,
// else by Put.
func (p *openPack) store(ctx context.Context, s remote.Storage, h remote.Handle) error {
	if p.taker == nil {
		return s.Put(ctx, h, p.body())
	}
	return p.taker.TakeFile(ctx, h, p.f, int64(p.w.Len()))
}

// discard closes the temporary file and removes it, unless the store took it.
func (p *openPack) discard() { p.f.Discard() }

// sysTemp is a pack file in a folder of the system (Options.TempDir).
type sysTemp struct{ *os.File }

func createTemp(dir string) (sysTemp, error) {
	f, err := os.CreateTemp(dir, "cairn-pack-*")
	return sysTemp{f}, err
}

func (t sysTemp) Discard() error {
	err := t.Close()
	os.Remove(t.Name())
	return err
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
