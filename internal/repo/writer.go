package repo

import (
	"context"
	"sync"
	"time"

	"github.com/cairn-backup/cairn/internal/digest"
	"github.com/cairn-backup/cairn/internal/index"
	"github.com/cairn-backup/cairn/internal/pack"
	"github.com/cairn-backup/cairn/remote"
	"golang.org/x/sync/errgroup"
)

// WriterOptions configure a write session.
type WriterOptions struct {
	Uploads int // packs uploaded in parallel; 0 means 2
	// Replacing names packs whose blobs do not count as stored: a prune copying the
	// used blobs out of them (repacking) stores each again.
	Replacing map[digest.ID]bool
}

// Writer is one write session: it fills packs from many goroutines, uploads full ones
// in parallel, and indexes them. Memory in flight is bounded by the open packs plus the
// upload slots, whatever the data size. The caller owns it: SaveBlob, SaveTree and Has
// from any goroutine, then Flush once they have returned, or Abort on failure. Several
// writers may work on one Repo at once (a backup, a repack): each has its own packs and
// uploads, and they share the index.
type Writer struct {
	r       *Repo
	ctx     context.Context // the session's: uploads end when it ends
	uploads int
	replace map[digest.ID]bool
	pools   map[BlobType]*packerPool

	mu       sync.Mutex
	inflight map[blobKey]struct{}    // in an open or uploading pack, not yet indexed
	pending  []index.Pack            // uploaded, not yet in an index segment
	uploaded map[digest.ID]time.Time // when the upload of each pending pack began
	conf     remote.Confirmer        // nil: every Put checks its own upload
	sent     []sentPack              // uploaded, not yet confirmed (conf only)
	sentSegs []sentSegment           // written, not yet confirmed (conf only)
	g        *errgroup.Group
	gctx     context.Context
	err      error // first upload failure of the current group
}

// NewWriter starts a write session. Its uploads run under ctx: when ctx ends, they stop,
// and Abort indexes what made it.
func (r *Repo) NewWriter(ctx context.Context, opts WriterOptions) *Writer {
	conf, _ := r.store.(remote.Confirmer)
	n := opts.Uploads
	if n <= 0 {
		n = 2
	}
	w := &Writer{
		r:       r,
		ctx:     ctx,
		uploads: n,
		replace: opts.Replacing,
		conf:    conf,
		pools: map[BlobType]*packerPool{
			pack.Data: newPackerPool(2),
			pack.Tree: newPackerPool(1),
		},
		inflight: map[blobKey]struct{}{},
		uploaded: map[digest.ID]time.Time{},
	}
	r.writersMu.Lock()
	r.writers = append(r.writers, w)
	r.writersMu.Unlock()
	return w
}

// writing reports whether a writer of r has blobs not yet durable and indexed.
func (r *Repo) writing() bool {
	r.writersMu.Lock()
	defer r.writersMu.Unlock()
	for _, w := range r.writers {
		if w.busy() {
			return true
		}
	}
	return false
}

func (s *Writer) busy() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.inflight) > 0 || len(s.pending) > 0 || len(s.sent) > 0 || len(s.sentSegs) > 0
}

// group returns the upload errgroup, started on first use (and again after Flush or
// Abort) under the session's context.
func (s *Writer) group() (*errgroup.Group, context.Context) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.g == nil {
		s.g, s.gctx = errgroup.WithContext(s.ctx)
		s.g.SetLimit(s.uploads)
	}
	return s.g, s.gctx
}
