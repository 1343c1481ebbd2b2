package repo

import (
	"bufio"
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"slices"

	"github.com/cairn-backup/cairn/internal/digest"
	"github.com/cairn-backup/cairn/internal/pack"
	"github.com/cairn-backup/cairn/remote"
	"golang.org/x/sync/errgroup"
)

// MaxGap is the largest run of unneeded bytes ReadBlobs reads through rather than
// starting another request. A request costs a round trip (about 20–50 ms on S3, a
// few MB of transfer) but only an open and a seek locally; 1 MiB keeps the waste below
// one average chunk while still reading a pack whose blobs are all needed in one go.
const MaxGap = 1 << 20

// A run whose blobs average at most smallRun bytes is read through a readAhead buffer.
const (
	smallRun  = 64 << 10
	readAhead = 256 << 10
)

// BlobFunc receives one blob read by ReadBlobs: its sealed bytes, which the function
// owns from then on (open them with OpenSealed), or why it could not be read (missing,
// unreachable, or an impossible length). An error returned by the function stops
// ReadBlobs.
type BlobFunc func(b Blob, sealed []byte, err error) error

// ReadOptions tune ReadBlobs.
type ReadOptions struct {
	Workers int                // packs read at once; 0 means 1
	Alloc   func(n int) []byte // buffers for sealed blobs; nil means new ones
}

// ReadBlobs reads blobs (as Lookup placed them) with as few requests as their layout
// allows: grouped by pack, packs in the order their first blob comes, up to
// opts.Workers packs at once, each pack in ranged reads over runs of blobs with gaps
// of at most MaxGap, streaming (readPack). fn gets every blob once, in offset order
// within its pack, from up to opts.Workers goroutines at once; memory holds what fn
// keeps, never a range. Opening the blobs is left to fn (OpenSealed), so that a caller
// can decrypt on every core while requests stream. One bad pack never hides the
// others: what cannot be read is passed to fn as an error per blob. ReadBlobs itself
// fails only when ctx ends or fn fails.
func (r *Repo) ReadBlobs(ctx context.Context, blobs []Blob, opts ReadOptions, fn BlobFunc) error {
	alloc := opts.Alloc
	if alloc == nil {
		alloc = func(n int) []byte { return make([]byte, n) }
	}
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(max(opts.Workers, 1))
	for _, pb := range byPack(blobs) {
		if gctx.Err() != nil {
			break
		}
		g.Go(func() error {
			return r.readPack(gctx, pb.id, pb.entries, alloc, func(e pack.Entry, sealed []byte, err error) error {
				if err := gctx.Err(); err != nil {
					return err
				}
				return fn(blobOf(pb.id, e), sealed, err)
			})
		})
	}
	return g.Wait()
}

type packBlobs struct {
	id      digest.ID
	n       int // blobs counted for it
	entries []pack.Entry
}

// byPack groups blobs by pack, packs in the order their first blob comes. The entries
// of all packs share one array, counted first: a restore of many small files groups
// hundreds of thousands, and growing a slice per pack cost it megabytes of garbage.
func byPack(blobs []Blob) []*packBlobs {
	var out []*packBlobs
	at := map[digest.ID]*packBlobs{}
	for _, b := range blobs {
		pb := at[b.Pack]
		if pb == nil {
			pb = &packBlobs{id: b.Pack}
			at[b.Pack] = pb
			out = append(out, pb)
		}
		pb.n++
	}
	all := make([]pack.Entry, 0, len(blobs))
	for _, pb := range out {
		pb.entries, all = all[:0:pb.n], all[pb.n:pb.n]
	}
	for _, b := range blobs {
		pb := at[b.Pack]
		pb.entries = append(pb.entries, b.entry())
	}
	return out
}

// sealedFunc receives one blob read by readPack (see BlobFunc).
type sealedFunc func(e pack.Entry, sealed []byte, err error) error

// readPack reads the given blobs of pack p with as few ranged reads as their layout
// allows (one per run of blobs with gaps of at most MaxGap), streaming: each blob is
// read into a buffer from alloc and handed to fn in offset order, so memory holds what
// fn keeps, never the range. A read that fails part way is retried once for the blobs
// not yet delivered; what still fails is passed to fn as an error per blob. readPack
// itself fails only when ctx ends or fn fails.
func (r *Repo) readPack(ctx context.Context, p digest.ID, blobs []pack.Entry, alloc func(n int) []byte, fn sealedFunc) error {
	sorted := blobs[:0] // blobs are byPack's, no one else's: filtered in place
	for _, e := range blobs {
		if e.Length > pack.MaxSealedBlobSize {
			err := fmt.Errorf("pack %s: blob %s of %d bytes: %w", p.Short(), e.ID.Short(), e.Length, ErrCorrupt)
			if err := fn(e, nil, err); err != nil {
				return err
			}
			continue
		}
		sorted = append(sorted, e)
	}
	slices.SortFunc(sorted, func(a, b pack.Entry) int { return cmp.Compare(a.Offset, b.Offset) })
	rd := runReader{r: r, p: p, alloc: alloc, fn: fn}
	for _, run := range splitRuns(sorted, MaxGap) {
		if err := rd.run(ctx, run); err != nil {
			return err
		}
	}
	return nil
}

// OpenSealed authenticates, decompresses and checks a blob read by ReadBlobs, in
// place (pack.OpenBlobInPlace): sealed is overwritten, and the result aliases it or a
// buffer from alloc (nil: a new one), into which a compressed blob is decoded.
func (r *Repo) OpenSealed(b Blob, sealed []byte, alloc func(n int) []byte) ([]byte, error) {
	plain, err := pack.OpenBlobInPlace(r.key, r.cfg.ID, b.entry(), sealed, alloc)
	if err != nil {
		return nil, fmt.Errorf("pack %s: %w", b.Pack.Short(), err)
	}
	return plain, nil
}

// splitRuns cuts blobs sorted by offset into runs read by one request each: a new run
// starts after a gap above maxGap, and where blobs overlap (a hostile index).
func splitRuns(blobs []pack.Entry, maxGap int64) [][]pack.Entry {
	var runs [][]pack.Entry
	if len(blobs) == 0 {
		return nil
	}
	start := 0
	for i := 1; i <= len(blobs); i++ {
		if i < len(blobs) {
			gap := int64(blobs[i].Offset) - blobs[i-1].End()
			if gap >= 0 && gap <= maxGap {
				continue
			}
		}
		runs = append(runs, blobs[start:i])
		start = i
	}
	return runs
}

type runReader struct {
	r     *Repo
	p     digest.ID
	alloc func(n int) []byte
	fn    sealedFunc
}

// run reads one run, retrying once what a failed read did not deliver.
func (rr *runReader) run(ctx context.Context, run []pack.Entry) error {
	for try := 0; len(run) > 0; try++ {
		n, err := rr.stream(ctx, run)
		run = run[n:]
		var fnErr callbackError
		switch {
		case err == nil:
			continue
		case errors.As(err, &fnErr):
			return fnErr.err
		case ctx.Err() != nil:
			return ctx.Err()
		case try == 0 && !errors.Is(err, ErrPackMissing):
			continue
		}
		for _, e := range run {
			if ferr := rr.fn(e, nil, err); ferr != nil {
				return ferr
			}
		}
		return nil
	}
	return nil
}

// callbackError carries the callback's own error out of stream untouched.
type callbackError struct{ err error }

func (c callbackError) Error() string { return c.err.Error() }

// stream issues one ranged read over run and returns how many blobs it handed to fn
// before the read failed (if it did).
func (rr *runReader) stream(ctx context.Context, run []pack.Entry) (int, error) {
	start, end := int64(run[0].Offset), run[len(run)-1].End()
	h := remote.Handle{Type: remote.Data, Name: rr.p.String()}
	rd, err := rr.r.store.Get(ctx, h, start, end-start)
	if errors.Is(err, remote.ErrNotFound) {
		return 0, fmt.Errorf("pack %s: %w: %w", rr.p.Short(), ErrPackMissing, err)
	}
	if err != nil {
		return 0, fmt.Errorf("read pack %s: %w", rr.p.Short(), err)
	}
	defer rd.Close()
	// Runs of small blobs are read in large pieces: a system call per blob (a pread
	// locally, a socket read behind net/http's 4 KiB buffer) was most of the system
	// time of restoring small files. Larger blobs go straight into their own buffers.
	src := io.Reader(rd)
	if end-start <= smallRun*int64(len(run)) {
		src = bufio.NewReaderSize(rd, readAhead)
	}
	pos := start
	for i, e := range run {
		if _, err := io.CopyN(io.Discard, src, int64(e.Offset)-pos); err != nil {
			return i, fmt.Errorf("read pack %s: %w", rr.p.Short(), unexpected(err))
		}
		sealed := rr.alloc(int(e.Length))
		if len(sealed) < int(e.Length) {
			sealed = make([]byte, e.Length)
		}
		sealed = sealed[:e.Length]
		if _, err := io.ReadFull(src, sealed); err != nil {
			return i, fmt.Errorf("read pack %s: %w", rr.p.Short(), unexpected(err))
		}
		pos = e.End()
		if err := rr.fn(e, sealed, nil); err != nil {
			return i, callbackError{err}
		}
	}
	return len(run), nil
}

func unexpected(err error) error {
	if errors.Is(err, io.EOF) {
		return io.ErrUnexpectedEOF
	}
	return err
}
