package archive

import (
	"context"

	"github.com/cairn-backup/cairn/internal/fsys"
	"golang.org/x/sync/errgroup"
)

// startCount walks the paths beside the backup, as restic's scanner does, so that a
// progress bar knows the total early: Progress.TotalFiles and TotalBytes grow as it
// goes, and Counted is set when it is done. It reads no file content and sees what
// the backup sees (the same excludes, CACHEDIR.TAG and file system boundary); what
// it cannot read it leaves out, silently: the backup reports it. The returned
// function stops the walk and waits for it.
func (b *run) startCount(ctx context.Context, paths []string) (stop func()) {
	ctx, cancel := context.WithCancel(ctx)
	g := &errgroup.Group{}
	g.Go(func() error {
		for _, p := range paths {
			info, err := fsys.Lstat(p)
			if err != nil {
				continue
			}
			if !b.countEntry(ctx, p, info, info.Dev) {
				return nil
			}
		}
		b.stats.Counted.Store(true)
		return nil
	})
	return func() {
		cancel()
		_ = g.Wait()
	}
}

// countEntry adds the entry at path, and everything beneath it, to the totals; false
// when ctx ended first.
func (b *run) countEntry(ctx context.Context, path string, info fsys.Info, rootDev uint64) bool {
	switch info.Kind {
	case fsys.Regular:
		b.stats.TotalFiles.Add(1)
		b.stats.TotalBytes.Add(info.Size)
		return true
	case fsys.Dir:
		if b.opts.OneFileSystem && info.Dev != rootDev {
			return true // a mount point: recorded, not entered
		}
	default:
		return true
	}
	if ctx.Err() != nil {
		return false
	}
	kids, err := b.countChildren(path)
	if err != nil {
		return true
	}
	for _, k := range kids {
		if !b.countEntry(ctx, k.path, k.info, rootDev) {
			return false
		}
	}
	return true
}

// countChildren lists a directory's entries the backup would walk, as children does,
// without reporting what it cannot read (the walk itself reports it).
func (b *run) countChildren(path string) ([]child, error) {
	return b.listChildren(path, func(string, error) {})
}
