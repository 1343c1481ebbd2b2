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

var _ remote.FileTaker = (*Store)(nil)

// tempFile is a file of CreateTemp.
type tempFile struct {
	f      *os.File
	folder string // where it was made
	taken  bool   // renamed into place: its path is no longer a temporary file
}

func (t *tempFile) Write(p []byte) (int, error) {
	n, err := t.f.Write(p)
	if err != nil {
		err = mapWriteErr(err)
	}
	return n, err
}

func (t *tempFile) ReadAt(p []byte, off int64) (int, error) { return t.f.ReadAt(p, off) }

func (t *tempFile) Discard() error {
	err := t.f.Close()
	if !t.taken {
		if rerr := os.Remove(t.f.Name()); rerr != nil && !errors.Is(rerr, fs.ErrNotExist) {
			err = errors.Join(err, rerr)
		}
	}
	return err
}

// CreateTemp creates a temporary file in the folder of type t (data/ for a pack, whose
// shard is known only once it is finished), where TakeFile renames it into place; see
// remote.FileTaker. Until then ListTemp reports it like the file of a Put.
func (s *Store) CreateTemp(t remote.Type) (remote.TempFile, error) {
	if err := remote.ValidateType(t); err != nil {
		return nil, fmt.Errorf("create temporary file: %w", err)
	}
	folder := s.typeFolder(t)
	if t != remote.Config {
		if err := ensureShard(folder); err != nil {
			return nil, fmt.Errorf("create temporary file in %s: %w", t, mapWriteErr(err))
		}
	}
	f, err := os.CreateTemp(folder, tempPrefix+"*") // mode 0600
	if err != nil {
		return nil, fmt.Errorf("create temporary file in %s: %w", t, mapWriteErr(err))
	}
	return &tempFile{f: f, folder: folder}, nil
}

// TakeFile stores the first size bytes of f under h: a file of CreateTemp by rename,
// anything else (or when the rename fails) by a copy as Put makes; see
// remote.FileTaker. The rename keeps Put's order: the file synced, renamed over the
// target, the folder synced.
func (s *Store) TakeFile(ctx context.Context, h remote.Handle, f remote.TempFile, size int64) error {
	if err := s.check(ctx, h); err != nil {
		return fmt.Errorf("put %s: %w", h, err)
	}
	target := s.path(h)
	folder := filepath.Dir(target)
	if err := ensureFolders(h, folder); err != nil {
		return fmt.Errorf("put %s: %w", h, mapWriteErr(err))
	}
	if tf, ok := f.(*tempFile); ok && tf.folder == s.typeFolder(h.Type) {
		renamed, err := rename(ctx, tf.f, size, folder, target)
		tf.taken = renamed
		if err != nil {
			return fmt.Errorf("put %s: %w", h, mapWriteErr(err))
		}
		if renamed {
			return nil
		}
	}
	if err := writeAtomic(ctx, folder, target, io.NewSectionReader(f, 0, size)); err != nil {
		return fmt.Errorf("put %s: %w", h, mapWriteErr(err))
	}
	return nil
}

// rename moves the synced file to target and syncs the folder. renamed false with a
// nil error means the rename could not be done and a copy may be tried: the file is
// not size bytes long, or the rename failed (another file system under the shard, the
// file removed from its path while open, as a prune does to old temporary files).
func rename(ctx context.Context, f *os.File, size int64, folder, target string) (renamed bool, err error) {
	if err := f.Sync(); err != nil {
		return false, err
	}
	fi, err := f.Stat()
	if err != nil {
		return false, err
	}
	if fi.Size() != size {
		return false, nil
	}
	// Last chance to give up before the object becomes visible.
	if err := ctx.Err(); err != nil {
		return false, err
	}
	if os.Rename(f.Name(), target) != nil {
		return false, nil
	}
	// The object is in place; only its durability is in doubt if this fails.
	return true, syncDir(folder)
}

// typeFolder is the folder of objects of type t: the repository folder for config;
// for data the folder above the shards.
func (s *Store) typeFolder(t remote.Type) string {
	if t == remote.Config {
		return s.dir
	}
	return filepath.Join(s.dir, string(t))
}
