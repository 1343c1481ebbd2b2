package local

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strings"
	"time"

	"github.com/cairn-backup/cairn/remote"
)

var _ remote.TempLister = (*Store)(nil)

// ListTemp reports the temporary files of Puts that never finished (a process killed
// part way), in the repository folder, the type folders (data/ holds the packs
// being filled, see CreateTemp) and the data shards; see remote.TempLister.
func (s *Store) ListTemp(ctx context.Context, fn func(remote.Info) error) error {
	var fnErr error
	visit := func(dir string, e fs.DirEntry) error {
		if !strings.HasPrefix(e.Name(), tempPrefix) || !e.Type().IsRegular() {
			return nil
		}
		fi, err := e.Info()
		if errors.Is(err, fs.ErrNotExist) {
			return nil // renamed or removed meanwhile
		}
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(s.dir, filepath.Join(dir, e.Name()))
		if err != nil {
			return err
		}
		if err := fn(remote.Info{Name: filepath.ToSlash(rel), Size: fi.Size(), ModTime: fi.ModTime()}); err != nil {
			fnErr = err
			return err
		}
		return nil
	}
	for _, t := range remote.Types {
		err := s.walk(ctx, t, visit)
		if err == nil && t == remote.Data {
			// Packs being filled lie in data/ itself, their shard not yet known.
			err = s.readTypeDir(ctx, s.typeFolder(t), visit)
		}
		if fnErr != nil {
			return fnErr // the caller's own error, unwrapped
		}
		if err != nil {
			return fmt.Errorf("list temporary files: %w", err)
		}
	}
	return nil
}

// DeleteTemp removes one temporary file ListTemp named; see remote.TempLister.
func (s *Store) DeleteTemp(ctx context.Context, name string) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("delete temporary file %s: %w", name, err)
	}
	if !tempName(name) {
		return fmt.Errorf("delete temporary file %q: %w", name, remote.ErrInvalidHandle)
	}
	err := os.Remove(filepath.Join(s.dir, filepath.FromSlash(name)))
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("delete temporary file %s: %w", name, err)
	}
	return nil
}

// tempName reports whether name is where a Put keeps a temporary file: a `.tmp-` file
// in the repository folder, a type folder or a data shard, and nothing else.
func tempName(name string) bool {
	dir, base := path.Split(name)
	if !strings.HasPrefix(base, tempPrefix) || strings.ContainsAny(base, `/\`) || path.Clean(name) != name {
		return false
	}
	dir = strings.TrimSuffix(dir, "/")
	if dir == "" {
		return true
	}
	typ, shard, sharded := strings.Cut(dir, "/")
	if !sharded {
		return remote.ValidateType(remote.Type(typ)) == nil && typ != string(remote.Config)
	}
	return typ == string(remote.Data) && len(shard) == 2 && remote.ValidName(shard)
}

// RemoveTemp deletes temporary files older than olderThan, left by Puts that crashed.
// The age must exceed the longest Put in flight, or a running Put loses its file. Ages
// come from file times, which the OS clock sets, so the OS clock judges them too.
func (s *Store) RemoveTemp(ctx context.Context, olderThan time.Duration) (int, error) {
	cutoff := time.Now().Add(-olderThan)
	var old []string
	err := s.ListTemp(ctx, func(i remote.Info) error {
		if i.ModTime.Before(cutoff) {
			old = append(old, i.Name)
		}
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("remove temporary files: %w", err)
	}
	for n, name := range old {
		if err := s.DeleteTemp(ctx, name); err != nil {
			return n, fmt.Errorf("remove temporary files: %w", err)
		}
	}
	return len(old), nil
}
