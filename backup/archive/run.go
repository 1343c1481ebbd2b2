package archive

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"strings"

	"github.com/cairn-backup/cairn/internal/digest"
	"github.com/cairn-backup/cairn/internal/fsys"
	"github.com/cairn-backup/cairn/internal/repo"
	"github.com/cairn-backup/cairn/manifest"
	"github.com/restic/chunker"
	"golang.org/x/sync/errgroup"
)

// run is one backup in progress.
type run struct {
	r        *repo.Repo
	store    blobStore
	opts     Options
	parent   *repo.Snapshot
	pol      chunker.Pol
	cfg      repo.Config
	excl     *excluder
	stats    *Progress
	errs     errList
	links    *linkTable
	chunks   *bufPool // MaxChunk-sized buffers for the chunker
	small    *bufPool // MinChunk-sized buffers for files read whole
	chunkers chunkerPool

	dirs   *errgroup.Group // directories walked in parallel
	files  *errgroup.Group // files read in parallel
	blobs  *errgroup.Group // chunks hashed, compressed and sealed in parallel
	gctx   context.Context // cancelled by the first fatal error, and when the run ends
	cancel context.CancelCauseFunc
}

func newRun(ctx context.Context, r *repo.Repo, opts Options, parent *repo.Snapshot) (*run, error) {
	cfg := r.Config()
	pol, err := cfg.Pol()
	if err != nil {
		return nil, err
	}
	excl, err := newExcluder(ExcludeOptions{Globs: opts.Excludes, IGlobs: opts.IExcludes, Caches: opts.ExcludeCaches,
		LargerThan: opts.ExcludeLargerThan, IfPresent: opts.ExcludeIfPresent})
	if err != nil {
		return nil, err
	}
	b := &run{r: r, opts: opts, parent: parent, pol: pol, cfg: cfg, excl: excl,
		stats: opts.Progress, links: newLinkTable(), chunks: newBufPool(int(cfg.MaxChunk)), small: newBufPool(int(cfg.MinChunk))}
	if b.stats == nil {
		b.stats = &Progress{}
	}
	if parent != nil {
		b.stats.EstimateBytes.Store(int64(parent.Stats.Bytes))
	}
	// Not errgroup.WithContext: its context ends at Wait, while uploads started under
	// it must go on until the final Flush. The cause is the first fatal error, which
	// the run reports instead of the cancellations it caused (RELIABILITY 14).
	b.gctx, b.cancel = context.WithCancelCause(ctx)
	if opts.DryRun {
		b.store = newDryStore(r)
	} else {
		// The write session lives as long as the run: uploads go on until the final Flush.
		b.store = writerStore{Writer: r.NewWriter(b.gctx, repo.WriterOptions{Uploads: opts.Uploads}), r: r}
	}
	b.files = &errgroup.Group{}
	b.files.SetLimit(workers(opts.Readers, 2))
	b.dirs = &errgroup.Group{}
	b.dirs.SetLimit(dirWalkers)
	b.blobs = &errgroup.Group{}
	b.blobs.SetLimit(workers(opts.Workers, 0))
	return b, nil
}

// top builds the snapshot's root directory: the backed-up paths under their
// absolute parents, as restic does, so that several paths share one tree.
func (b *run) top(ctx context.Context, paths []string) (root, tree digest.ID, err error) {
	t := newPathTrie(paths)
	e, err := b.virtualDir(ctx, "/", t, b.rootNode(ctx))
	if werr := b.wait(); err == nil {
		err = werr
	}
	if err != nil {
		return root, tree, b.cause(err)
	}
	return e.Content, e.Subtree, nil
}

// dirWalkers bounds the directories walked at once; walking waits on the kernel more
// than on the CPU, so more walkers than cores pay.
const dirWalkers = 8

// fail ends the run for a fatal error: every worker stops, and the run reports err
// unless an earlier one ended it first.
func (b *run) fail(err error) error {
	err = fatal(err)
	b.cancel(err)
	return err
}

// cause returns the error the run reports for err: the first fatal error when err is
// one of the cancellations that error caused. A cancellation from outside the run (an
// interrupt) is reported as it is.
func (b *run) cause(err error) error {
	if !errors.Is(err, context.Canceled) {
		return err
	}
	if c := context.Cause(b.gctx); c != nil && !errors.Is(c, context.Canceled) {
		return c
	}
	return err
}

// wait lets the directory walkers, file readers and chunk workers finish.
func (b *run) wait() error {
	_ = b.dirs.Wait() // each walker's result went to its parent's slot
	err := b.files.Wait()
	if berr := b.blobs.Wait(); err == nil {
		err = berr
	}
	return err
}

// pathTrie holds the absolute paths to back up, split into components.
type pathTrie struct {
	children map[string]*pathTrie
	leaf     bool // a path to back up: everything beneath it is walked
}

func newPathTrie(paths []string) *pathTrie {
	t := &pathTrie{children: map[string]*pathTrie{}}
	for _, p := range paths {
		n := t
		for _, c := range strings.Split(strings.Trim(p, "/"), "/") {
			if c == "" {
				continue
			}
			if n.children[c] == nil {
				n.children[c] = &pathTrie{children: map[string]*pathTrie{}}
			}
			n = n.children[c]
		}
		n.leaf = true
	}
	return t
}

// virtualDir records a parent directory of the backed-up paths with its own metadata
// but only the children that lead to them.
func (b *run) virtualDir(ctx context.Context, path string, t *pathTrie, prev *nodeRef) (manifest.Entry, error) {
	info, err := fsys.Lstat(path)
	if err != nil {
		return manifest.Entry{}, fmt.Errorf("backup %s: %w", path, err)
	}
	e := b.baseEntry(filepath.Base(path), path, info, nil)
	// The parents of the backed-up paths keep their mode and owner but not their
	// times: /tmp or /home change mtime all day, and that must not make an unchanged
	// backup store new nodes, nor change its root.
	e.MTime, e.CTime, e.Inode, e.Dev = 0, 0, 0, 0
	var entries []manifest.Entry
	for _, name := range sortedKeys(t.children) {
		child, sub := filepath.Join(path, name), t.children[name]
		pe := childOf(prev, name)
		var ce manifest.Entry
		if sub.leaf {
			ce, err = b.pathEntry(ctx, child, pe)
		} else {
			ce, err = b.virtualDir(ctx, child, sub, b.nodeOf(ctx, pe))
		}
		if errors.Is(err, errSkipped) {
			continue // gone, or unreadable: already reported
		}
		if err != nil {
			return e, err
		}
		entries = append(entries, ce)
	}
	return b.writeDir(ctx, e, entries)
}
