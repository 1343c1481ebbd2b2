// Package archive is the backup engine: it walks the source paths, reuses every file
// unchanged since the parent snapshot without reading it, chunks and stores the rest,
// builds the Merkle manifest bottom-up and writes the snapshot record last.
package archive

import (
	"context"
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"runtime"
	"sort"
	"sync"
	"time"

	"github.com/cairn-backup/cairn/internal/digest"
	"github.com/cairn-backup/cairn/internal/fsys"
	"github.com/cairn-backup/cairn/internal/repo"
	"github.com/cairn-backup/cairn/manifest"
	"golang.org/x/sync/errgroup"
)

// Options select what to back up and how.
type Options struct {
	Paths      []string
	Host, User string
	Tags       []string
	Parent     *digest.ID // nil: the latest snapshot of the same host and paths
	Force      bool       // re-read every file
	DryRun     bool       // store nothing
	// SkipIfUnchanged makes no snapshot when the tree equals the parent's (the
	// Result then names the parent and has Skipped set).
	SkipIfUnchanged bool
	Excludes        []string
	IExcludes       []string // like Excludes, ignoring case
	// ExcludeLargerThan leaves out files larger than it (bytes; 0: no limit), and
	// ExcludeIfPresent the directories holding a file of one of its names.
	ExcludeLargerThan int64
	ExcludeIfPresent  []string
	// Stdin, when set, is backed up instead of Paths: one file named StdinName
	// ("stdin" when empty) at the snapshot's root, mode 0600, modified now.
	Stdin         io.Reader
	StdinName     string
	ExcludeCaches bool
	OneFileSystem bool
	Readers       int // files read in parallel (0: 2)
	Workers       int // chunks hashed, compressed and sealed in parallel (0: GOMAXPROCS)
	Uploads       int // packs uploaded in parallel (0: 2)
	// Changed, when set, is called for every file read because it is new (isNew) or
	// changed since the parent: what the backup stores, or with DryRun would store.
	// It is called from many goroutines at once.
	Changed  func(path string, isNew bool, size int64)
	Progress *Progress // live counters for a progress display; may be nil
	Count    bool      // count the source beside the backup, for Progress's totals
	Clock    func() time.Time
	Program  string
}

// SourceError is a file that could not be read; the snapshot is still made.
type SourceError struct {
	Path string
	Err  error
}

func (e SourceError) Error() string { return fmt.Sprintf("%s: %v", e.Path, e.Err) }

// Result describes the snapshot made.
type Result struct {
	Snapshot   digest.ID
	Root       digest.ID
	Parent     *digest.ID
	Stats      manifest.SnapshotStats
	Unreadable []SourceError
	DryRun     bool
	Skipped    bool // SkipIfUnchanged and nothing changed: Snapshot is the parent
	// MissingPacks counts packs the index named that the storage no longer has: their
	// blobs, when this backup needed them, were stored again.
	MissingPacks int
	// Locks counts the object locks the snapshot needed and those extended, in a
	// repository with locks (init --object-lock).
	Locks repo.LockStats
}

// loadBoth lists the snapshots (for the parent) and loads the index (every backup
// needs it, if only to find its unchanged trees stored) at once: on a distant bucket
// neither waits on the other.
func loadBoth(ctx context.Context, r *repo.Repo) ([]repo.Snapshot, error) {
	var snaps []repo.Snapshot
	var g errgroup.Group // not WithContext: LoadIndex runs once, and its context must outlive this call
	g.Go(func() (err error) { snaps, _, err = r.LoadSnapshots(ctx); return err })
	g.Go(func() error { return r.LoadIndex(ctx) })
	if err := g.Wait(); err != nil {
		return nil, err
	}
	return snaps, nil
}

// ErrNoPaths is returned when there is nothing to back up.
var ErrNoPaths = errors.New("no paths to back up")

// ErrPartial is returned, with the Result, when the snapshot was made but some source
// files could not be read (each is in Result.Unreadable); everything else is in it.
var ErrPartial = errors.New("some source files could not be read")

// Run makes one snapshot. Packs and index are written before the snapshot record, so
// an interrupted run leaves only unreferenced packs behind, and the next run reuses them.
// A snapshot made without some source files comes with an error wrapping ErrPartial;
// other errors mean no snapshot was made, and come without a Result.
func Run(ctx context.Context, r *repo.Repo, opts Options) (*Result, error) {
	start := opts.now()
	present, missing, err := opts.sources()
	if err != nil {
		return nil, err
	}
	// Reuse only what the storage holds and no prune marked (docs/prune.md); the run
	// note lets a prune see that a backup is running. Marks and packs are listed once
	// the storage acknowledged it; its check waits for the check after writing.
	r.StoredPacksOnly()
	var note *repo.RunNote
	if !opts.DryRun {
		if note, err = r.BeginRun(ctx, "backup"); err != nil {
			return nil, err
		}
		defer note.End(context.WithoutCancel(ctx)) //nolint:errcheck // a note left behind only ages
	}
	snaps, err := loadBoth(ctx, r)
	if err != nil {
		return nil, err
	}
	parent, err := chooseParent(snaps, opts)
	if err != nil {
		return nil, err
	}
	b, err := newRun(ctx, r, opts, parent)
	if err != nil {
		return nil, err
	}
	defer b.cancel(nil)
	for _, m := range missing {
		b.errs.add(m.Path, m.Err)
	}
	if opts.Count && opts.Stdin == nil {
		defer b.startCount(b.gctx, present)()
	}
	top := func() (digest.ID, digest.ID, error) { return b.top(b.gctx, present) }
	if opts.Stdin != nil {
		top = func() (digest.ID, digest.ID, error) { return b.stdinTop(b.gctx) }
	}
	root, tree, err := top()
	if err != nil {
		b.salvage(ctx.Err() != nil)
		return nil, err
	}
	res, err := b.finish(ctx, snaps, root, tree, start, note)
	if err != nil {
		b.salvage(ctx.Err() != nil)
		return nil, err
	}
	if n := len(res.Unreadable); n > 0 {
		return res, fmt.Errorf("%w: %d", ErrPartial, n)
	}
	return res, nil
}

// salvage indexes the packs a failed or interrupted run uploaded, on a fresh context
// (the run's own is cancelled), so that the next run need not upload them again. An
// interrupted run also uploads its open packs: with packs of 16 MiB, a run stopped
// after some megabytes has often uploaded none yet. A failed one does not: the
// storage that failed would most likely fail them too.
func (b *run) salvage(interrupted bool) {
	if b.opts.DryRun {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), salvageTimeout)
	defer cancel()
	if interrupted {
		_ = b.store.Keep(ctx)
		return
	}
	_ = b.store.Abort(ctx)
}

const salvageTimeout = 30 * time.Second

func (o *Options) now() time.Time {
	if o.Clock != nil {
		return o.Clock()
	}
	return time.Now()
}

// sources settles o.Paths and splits them into those present and those missing; a
// stream has the one path of its file name.
func (o *Options) sources() (present []string, missing []SourceError, err error) {
	if o.Stdin != nil {
		o.Paths, err = stdinPaths(o.StdinName)
		return o.Paths, nil, err
	}
	if o.Paths, err = cleanPaths(o.Paths); err != nil {
		return nil, nil, err
	}
	present, missing = splitPresent(o.Paths)
	if len(present) == 0 {
		return nil, nil, fmt.Errorf("%w: %w", ErrNoPaths, errors.Join(errorsOf(missing)...))
	}
	return present, missing, nil
}

func cleanPaths(in []string) ([]string, error) {
	if len(in) == 0 {
		return nil, ErrNoPaths
	}
	seen := map[string]bool{}
	var out []string
	for _, p := range in {
		abs, err := filepath.Abs(p)
		if err != nil {
			return nil, err
		}
		if !seen[abs] {
			seen[abs] = true
			out = append(out, abs)
		}
	}
	sort.Strings(out)
	return out, nil
}

// splitPresent sorts the paths to back up into those that can be looked at and the
// others: as with restic, one unmounted path must not cost a nightly job the snapshot
// of the rest (it is reported as unreadable), but none at all is an error.
func splitPresent(paths []string) (present []string, missing []SourceError) {
	for _, p := range paths {
		if _, err := fsys.Lstat(p); err != nil {
			missing = append(missing, SourceError{Path: p, Err: err})
			continue
		}
		present = append(present, p)
	}
	return present, missing
}

func errorsOf(ses []SourceError) []error {
	errs := make([]error, len(ses))
	for i, se := range ses {
		errs[i] = se.Err
	}
	return errs
}

// finish flushes the data, then writes the snapshot record chained to its predecessor.
func (b *run) finish(ctx context.Context, snaps []repo.Snapshot, root, tree digest.ID, start time.Time, note *repo.RunNote) (*Result, error) {
	if err := b.store.Flush(ctx); err != nil {
		return nil, err
	}
	res := &Result{Root: root, Stats: b.stats.snapshot(), Unreadable: b.errs.list(), DryRun: b.opts.DryRun}
	if b.parent != nil {
		res.Parent = &b.parent.ID
	}
	res.Stats.DurationNS = int64(b.opts.now().Sub(start))
	snap := &manifest.Snapshot{
		Version: 1, Time: start.UTC(), Host: b.opts.Host, User: b.opts.User,
		Paths: b.opts.Paths, Tags: b.opts.Tags, Root: root, Tree: tree,
		Parent: res.Parent, Previous: previous(snaps, b.opts), Stats: res.Stats, Program: b.opts.Program,
	}
	data, err := snap.Encode()
	if err != nil {
		return nil, err
	}
	if b.opts.SkipIfUnchanged && b.parent != nil && b.parent.Root == root {
		res.Snapshot, res.Skipped = b.parent.ID, true
		return res, nil
	}
	if b.opts.DryRun {
		res.Snapshot = digest.Of(data)
		return res, nil
	}
	// Every object the snapshot needs is locked long enough before the snapshot names it.
	if res.Locks, err = b.r.ExtendLocks(ctx, repo.Snapshot{Snapshot: snap}); err != nil {
		return nil, err
	}
	if res.Snapshot, err = b.writeSnapshot(ctx, repo.Snapshot{Snapshot: snap}, data, note); err != nil {
		return nil, err
	}
	res.MissingPacks = b.r.MissingPacks()
	// The client remembers its snapshots, so verify can tell a deleted or rolled-back
	// one; failing to remember loses no data, so it does not fail the backup.
	_ = b.r.RememberSnapshots([]digest.ID{res.Snapshot})
	return res, nil
}

// writeSnapshot writes the snapshot record, then at once sends the three things that
// follow it side by side (docs/prune.md, "What a backup does", steps 4 and 5): the
// check that the storage holds the record, the check after writing (once the run
// note is checked: marks and packs), and the run note's removal. A record the storage
// held only after being sent again is checked after writing once more, honouring
// every new mark record: the note may have gone before the record was stored.
func (b *run) writeSnapshot(ctx context.Context, snap repo.Snapshot, data []byte, note *repo.RunNote) (digest.ID, error) {
	id, up, err := b.r.PutSnapshot(ctx, data)
	if err != nil {
		return id, err
	}
	snap.ID = id
	var resent bool
	var cerr error
	var g errgroup.Group
	g.Go(func() (err error) { resent, err = up.Confirm(ctx); return err })
	g.Go(func() error { cerr = b.r.CheckReuse(ctx, snap); return nil })
	g.Go(func() error {
		_ = note.End(context.WithoutCancel(ctx)) // a note left behind only ages
		return nil
	})
	err = g.Wait()
	if err == nil && cerr == nil && resent {
		cerr = b.r.CheckReuseAgain(ctx, snap)
	}
	if err = errors.Join(err, cerr); err != nil {
		// The storage may hold the record damaged, or it may point into packs a prune
		// is about to delete; the backup fails either way: take the record back, so that
		// none of a snapshot the backup did not make stays behind.
		return id, errors.Join(err, b.r.ForgetSnapshots(context.WithoutCancel(ctx), []digest.ID{id}))
	}
	return id, nil
}

// errList collects unreadable sources from many goroutines.
type errList struct {
	mu   sync.Mutex
	errs []SourceError
}

func (l *errList) add(path string, err error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.errs = append(l.errs, SourceError{Path: path, Err: err})
}

func (l *errList) list() []SourceError {
	l.mu.Lock()
	defer l.mu.Unlock()
	out := append([]SourceError(nil), l.errs...)
	sort.Slice(out, func(i, j int) bool { return out[i].Path < out[j].Path })
	return out
}

func workers(n, def int) int {
	if n > 0 {
		return n
	}
	if def > 0 {
		return def
	}
	return runtime.GOMAXPROCS(0)
}
