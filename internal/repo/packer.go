package repo

import (
	"context"

	"github.com/cairn-backup/cairn/internal/pack"
)

// packerPool hands out up to n open pack writers of one blob type. It creates all n
// before reusing any, so successive blobs (the chunks of one file) rotate over the
// open packs and a pack's size does not trace one file's chunk boundaries.
type packerPool struct {
	idle  chan *pack.Writer
	slots chan struct{}
}

func newPackerPool(n int) *packerPool {
	return &packerPool{idle: make(chan *pack.Writer, n), slots: make(chan struct{}, n)}
}

func (p *packerPool) take(ctx context.Context, r *Repo) (*pack.Writer, error) {
	select {
	case p.slots <- struct{}{}:
		return pack.NewWriter(r.key, r.cfg.ID, r.opts.Compression), nil
	default:
	}
	select {
	case w := <-p.idle:
		return w, nil
	case p.slots <- struct{}{}:
		return pack.NewWriter(r.key, r.cfg.ID, r.opts.Compression), nil
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// put returns a writer that still has room.
func (p *packerPool) put(w *pack.Writer) { p.idle <- w }

// retire frees the slot of a writer that left for upload.
func (p *packerPool) retire() { <-p.slots }

// drain removes every idle writer that holds blobs; callers must not be in take or put.
func (p *packerPool) drain() []*pack.Writer {
	var out []*pack.Writer
	for {
		select {
		case w := <-p.idle:
			<-p.slots
			if w.Count() > 0 {
				out = append(out, w)
			}
		default:
			return out
		}
	}
}
