package local

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/cairn-backup/cairn/remote"
)

// tempPrefix starts every temporary file. remote.ValidName refuses names starting with
// '.', so no temporary file is ever listed or addressed as an object.
const tempPrefix = ".tmp-"

// Put writes data atomically: a temporary file in the target folder, synced, renamed
// over the target, then the folder synced. A crash leaves either the old object or the
// new one, plus at worst a temporary file that RemoveTemp deletes.
func (s *Store) Put(ctx context.Context, h remote.Handle, body remote.Body) error {
	if err := s.check(ctx, h); err != nil {
		return fmt.Errorf("put %s: %w", h, err)
	}
	target := s.path(h)
	folder := filepath.Dir(target)
	if err := ensureFolders(h, folder); err != nil {
		return fmt.Errorf("put %s: %w", h, mapWriteErr(err))
	}
	if err := writeAtomic(ctx, folder, target, body); err != nil {
		return fmt.Errorf("put %s: %w", h, mapWriteErr(err))
	}
	return nil
}

// ensureFolders creates the folder of a validated handle, and for data the type
// folder above its shard: either may be missing in a repository made before its type.
func ensureFolders(h remote.Handle, folder string) error {
	if h.Type == remote.Data {
		if err := ensureShard(filepath.Dir(folder)); err != nil {
			return err
		}
	}
	if h.Type != remote.Config {
		return ensureShard(folder)
	}
	return nil
}

// writeAtomic is Put without the handle logic; the temporary file is gone on return
// whatever happens.
func writeAtomic(ctx context.Context, folder, target string, body remote.Body) (err error) {
	f, err := os.CreateTemp(folder, tempPrefix+"*") // mode 0600
	if err != nil {
		return err
	}
	tmp := f.Name()
	defer func() {
		if err != nil {
			f.Close()
			os.Remove(tmp)
		}
	}()
	n, err := io.Copy(f, remote.Reader(body))
	if err != nil {
		return err
	}
	if n != body.Size() {
		return fmt.Errorf("wrote %d of %d bytes", n, body.Size())
	}
	if err = f.Sync(); err != nil {
		return err
	}
	if err = f.Close(); err != nil {
		return err
	}
	// Last chance to give up before the object becomes visible.
	if err = ctx.Err(); err != nil {
		return err
	}
	if err = os.Rename(tmp, target); err != nil {
		return err
	}
	// The object is in place; only its durability is in doubt if this fails.
	return syncDir(folder)
}

// ensureShard creates one folder (a data shard or a type folder) on first use. Only
// that folder is made, never its parents: if the repository vanished (an unmounted
// disk), Put must fail rather than build a fresh tree in its place.
func ensureShard(shard string) error {
	err := os.Mkdir(shard, dirMode)
	if errors.Is(err, fs.ErrExist) {
		return nil
	}
	if err != nil {
		return err
	}
	return syncDir(filepath.Dir(shard))
}

// syncDir makes the entries of a folder (a rename, a removal) durable.
func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	if err := d.Sync(); err != nil {
		d.Close()
		return fmt.Errorf("sync %s: %w", dir, err)
	}
	return d.Close()
}
