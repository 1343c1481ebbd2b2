package main

import (
	"context"
	"fmt"
	"path/filepath"
	"sync/atomic"

	"github.com/cairn-backup/cairn/internal/fsys"
	"golang.org/x/sync/errgroup"
)

// walk lists every directory under roots and lstats every entry, with as many
// directories listed at once as cairn's backup does (fsys, as cairn's walker).
func walk(ctx context.Context, roots []string, walkers int) ([]string, error) {
	var g errgroup.Group
	g.SetLimit(walkers)
	var entries, dirs atomic.Int64
	var visit func(dir string) error
	visit = func(dir string) error {
		dirs.Add(1)
		d, err := fsys.OpenDirectory(dir)
		if err != nil {
			return err
		}
		defer d.Close()
		names, err := d.Names()
		if err != nil {
			return fmt.Errorf("list %s: %w", dir, err)
		}
		for _, name := range names {
			info, err := d.Lstat(name)
			if err != nil {
				return fmt.Errorf("lstat %s: %w", name, err)
			}
			entries.Add(1)
			if info.Kind == fsys.Dir {
				sub := filepath.Join(dir, name)
				if !g.TryGo(func() error { return visit(sub) }) {
					if err := visit(sub); err != nil { // every walker busy: this one goes down
						return err
					}
				}
			}
		}
		return ctx.Err()
	}
	for _, r := range roots {
		if err := visit(r); err != nil {
			return nil, err
		}
	}
	if err := g.Wait(); err != nil {
		return nil, err
	}
	return []string{fmt.Sprintf("entries %d", entries.Load()), fmt.Sprintf("dirs %d", dirs.Load())}, nil
}
