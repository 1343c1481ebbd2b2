package main

import (
	"context"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"sync/atomic"
	"time"

	"github.com/cairn-backup/cairn/internal/digest"
	"github.com/cairn-backup/cairn/internal/repo"
	"github.com/cairn-backup/cairn/remote/local"
	"golang.org/x/sync/errgroup"
)

// verify reads every pack file of the local repository at args[0] (from the page
// cache when the caller warmed it), checks its hash against its name, and opens every
// blob in it (authenticate, decompress, hash) with cairn's own repo code, on every
// core: what `verify --read-data` cannot skip.
func verify(ctx context.Context, args []string) ([]string, error) {
	if len(args) != 1 {
		return nil, errUsage
	}
	store, err := local.Open(ctx, args[0])
	if err != nil {
		return nil, err
	}
	r, err := repo.Open(ctx, store, repo.Options{Password: []byte(os.Getenv("CAIRN_PASSWORD"))})
	if err != nil {
		return nil, err
	}
	started = time.Now() // the key derivation is not reading data
	var packs []string
	err = filepath.WalkDir(filepath.Join(args[0], "data"), func(p string, d fs.DirEntry, err error) error {
		if err == nil && d.Type().IsRegular() {
			packs = append(packs, p)
		}
		return err
	})
	if err != nil {
		return nil, err
	}
	var bytes, blobs atomic.Int64
	g, _ := errgroup.WithContext(ctx)
	g.SetLimit(runtime.GOMAXPROCS(0))
	for _, p := range packs {
		g.Go(func() error {
			id, err := digest.Parse(filepath.Base(p))
			if err != nil {
				return fmt.Errorf("pack %s: %w", p, err)
			}
			data, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			if digest.Of(data) != id {
				return fmt.Errorf("pack %s: content does not match its name", id.Short())
			}
			list, err := r.ParsePack(id, data)
			if err != nil {
				return fmt.Errorf("pack %s: %w", id.Short(), err)
			}
			for _, b := range list {
				if _, err := r.OpenIn(data, b); err != nil {
					return fmt.Errorf("pack %s: %w", id.Short(), err)
				}
			}
			bytes.Add(int64(len(data)))
			blobs.Add(int64(len(list)))
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		return nil, err
	}
	return []string{fmt.Sprintf("packs %d", len(packs)), fmt.Sprintf("bytes %d", bytes.Load()), fmt.Sprintf("blobs %d", blobs.Load())}, nil
}
