package local

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/cairn-backup/cairn/remote"
)

// batch bounds the directory entries held in memory at once by a listing.
const batch = 1024

// List reports the objects of type t. Temporary files, foreign names and anything but
// regular files are skipped. Every read error is returned: a listing that failed must
// never look like an empty one, or prune would delete what it cannot see.
func (s *Store) List(ctx context.Context, t remote.Type, fn func(remote.Info) error) error {
	if err := remote.ValidateType(t); err != nil {
		return fmt.Errorf("list %s: %w", t, err)
	}
	var fnErr error
	err := s.walk(ctx, t, func(dir string, e fs.DirEntry) error {
		name, ok := objectName(t, dir, e)
		if !ok {
			return nil
		}
		fi, err := e.Info()
		if errors.Is(err, fs.ErrNotExist) {
			return nil // deleted since the directory was read
		}
		if err != nil {
			return err
		}
		if !fi.Mode().IsRegular() {
			return nil
		}
		if err := fn(remote.Info{Name: name, Size: fi.Size(), ModTime: fi.ModTime()}); err != nil {
			fnErr = err
			return err
		}
		return nil
	})
	if fnErr != nil {
		return fnErr // the caller's own error, unwrapped
	}
	if err != nil {
		return fmt.Errorf("list %s: %w", t, err)
	}
	return nil
}

// objectName returns the object name of a directory entry of type t, if it is one.
func objectName(t remote.Type, dir string, e fs.DirEntry) (string, bool) {
	name := e.Name()
	if !e.Type().IsRegular() {
		return "", false
	}
	switch t {
	case remote.Config:
		return "", name == string(remote.Config)
	case remote.Data:
		// A file outside its own shard could not be read back under its name.
		return name, remote.ValidName(name) && strings.HasPrefix(name, filepath.Base(dir))
	default:
		return name, remote.ValidName(name)
	}
}

// walk calls visit for every entry of the folders that hold objects of type t: the
// repository folder for config, the shards for data, the type folder otherwise. A
// missing type folder is empty, but only while the repository folder exists.
func (s *Store) walk(ctx context.Context, t remote.Type, visit func(dir string, e fs.DirEntry) error) error {
	if t == remote.Config {
		d, err := os.Open(s.dir)
		if err != nil {
			return fmt.Errorf("repository %s: %w", s.dir, mapErr(err))
		}
		defer d.Close()
		return readEntries(ctx, d, visit)
	}
	folder := filepath.Join(s.dir, string(t))
	if t != remote.Data {
		return s.readTypeDir(ctx, folder, visit)
	}
	return s.readTypeDir(ctx, folder, func(_ string, e fs.DirEntry) error {
		if !isShard(e) {
			return nil
		}
		return readDir(ctx, filepath.Join(folder, e.Name()), visit)
	})
}

// readTypeDir is readDir for a type folder, which may be missing in a repository
// whose layout was never completed. Only the folder itself may be missing: a shard
// that vanishes part way through is an error, not an end of the listing.
func (s *Store) readTypeDir(ctx context.Context, folder string, visit func(string, fs.DirEntry) error) error {
	d, err := os.Open(folder)
	if errors.Is(err, fs.ErrNotExist) {
		fi, rootErr := os.Stat(s.dir)
		if rootErr != nil {
			return fmt.Errorf("repository %s: %w", s.dir, mapErr(rootErr))
		}
		if !fi.IsDir() {
			return fmt.Errorf("repository %s: not a directory", s.dir)
		}
		return nil
	}
	if err != nil {
		return err
	}
	defer d.Close()
	return readEntries(ctx, d, visit)
}

// isShard reports whether a data folder entry can be a shard: a directory named by the
// first two characters of a valid name.
func isShard(e fs.DirEntry) bool {
	n := e.Name()
	return e.IsDir() && len(n) == 2 && remote.ValidName(n)
}

// readDir calls visit for each entry of dir.
func readDir(ctx context.Context, dir string, visit func(string, fs.DirEntry) error) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return readEntries(ctx, d, visit)
}

// readEntries reads an open folder in batches, so that a huge folder is never held in
// memory whole, and checks ctx between batches.
func readEntries(ctx context.Context, d *os.File, visit func(string, fs.DirEntry) error) error {
	for {
		if err := ctx.Err(); err != nil {
			return err
		}
		entries, err := d.ReadDir(batch)
		for _, e := range entries {
			if err := visit(d.Name(), e); err != nil {
				return err
			}
		}
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("read %s: %w", d.Name(), err)
		}
	}
}
