// Package local stores a repository in a directory of the local file system: one file
// per object, written atomically, readable by no one but the owner.
package local

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"syscall"

	"github.com/cairn-backup/cairn/remote"
)

// Modes of everything the store creates: backups hold private data.
const (
	fileMode fs.FileMode = 0o600
	dirMode  fs.FileMode = 0o700
)

// Store is a directory-backed remote.Storage. It holds no state but the path, so it is
// safe for concurrent use; atomicity comes from rename.
type Store struct {
	dir string
}

var _ remote.Storage = (*Store)(nil)

// Create makes dir (and its parents) and the layout folders. It fails with
// remote.ErrExists if dir already holds a config; a layout without a config is
// completed, not refused, so an interrupted Create can be run again.
func Create(ctx context.Context, dir string) (*Store, error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("create %s: %w", dir, err)
	}
	s := &Store{dir: dir}
	if err := os.MkdirAll(dir, dirMode); err != nil {
		return nil, fmt.Errorf("create %s: %w", dir, err)
	}
	_, err := os.Lstat(s.path(remote.Handle{Type: remote.Config}))
	if err == nil {
		return nil, fmt.Errorf("create %s: %w", dir, remote.ErrExists)
	}
	if !errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("create %s: %w", dir, err)
	}
	for _, t := range remote.Types {
		if t == remote.Config {
			continue
		}
		err := os.Mkdir(filepath.Join(dir, string(t)), dirMode)
		if err != nil && !errors.Is(err, fs.ErrExist) {
			return nil, fmt.Errorf("create %s: %w", dir, err)
		}
	}
	if err := syncDir(dir); err != nil {
		return nil, fmt.Errorf("create %s: %w", dir, err)
	}
	return s, nil
}

// Open opens the repository in dir. A directory without a config is no repository:
// it fails with remote.ErrNotFound, as does a missing directory.
func Open(ctx context.Context, dir string) (*Store, error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("open %s: %w", dir, err)
	}
	s := &Store{dir: dir}
	fi, err := os.Stat(dir)
	if err != nil {
		return nil, fmt.Errorf("open %s: %w", dir, mapErr(err))
	}
	if !fi.IsDir() {
		return nil, fmt.Errorf("open %s: not a directory", dir)
	}
	if _, err := os.Stat(s.path(remote.Handle{Type: remote.Config})); err != nil {
		return nil, fmt.Errorf("open %s: no config: %w", dir, mapErr(err))
	}
	return s, nil
}

// Location returns the repository directory.
func (s *Store) Location() string { return s.dir }

// Close releases nothing: the store holds no open files.
func (s *Store) Close() error { return nil }

// Get opens the object and returns a reader of the range; see remote.Storage.
func (s *Store) Get(ctx context.Context, h remote.Handle, offset, length int64) (io.ReadCloser, error) {
	if err := s.check(ctx, h); err != nil {
		return nil, fmt.Errorf("get %s: %w", h, err)
	}
	if offset < 0 || length < 0 {
		return nil, fmt.Errorf("get %s at %d+%d: %w", h, offset, length, remote.ErrInvalidRange)
	}
	f, err := os.Open(s.path(h))
	if err != nil {
		return nil, fmt.Errorf("get %s: %w", h, mapErr(err))
	}
	fi, err := f.Stat()
	if err == nil && !fi.Mode().IsRegular() {
		err = errNotRegular
	}
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("get %s: %w", h, err)
	}
	size := fi.Size()
	if offset > size || length > size-offset {
		f.Close()
		return nil, fmt.Errorf("get %s at %d+%d of %d bytes: %w", h, offset, length, size, remote.ErrInvalidRange)
	}
	if length == 0 {
		length = size - offset
	}
	return readCloser{io.NewSectionReader(f, offset, length), f}, nil
}

// readCloser limits reads to the section and closes the file.
type readCloser struct {
	io.Reader
	io.Closer
}

// Stat returns the object's size.
func (s *Store) Stat(ctx context.Context, h remote.Handle) (remote.Info, error) {
	if err := s.check(ctx, h); err != nil {
		return remote.Info{}, fmt.Errorf("stat %s: %w", h, err)
	}
	fi, err := os.Stat(s.path(h))
	if err == nil && !fi.Mode().IsRegular() {
		err = errNotRegular
	}
	if err != nil {
		return remote.Info{}, fmt.Errorf("stat %s: %w", h, mapErr(err))
	}
	return remote.Info{Name: h.Name, Size: fi.Size(), ModTime: fi.ModTime()}, nil
}

// Delete removes the object and syncs its folder, so that a deletion ordered after
// another (prune: index before pack) also reaches the disk in that order.
func (s *Store) Delete(ctx context.Context, h remote.Handle) error {
	if err := s.check(ctx, h); err != nil {
		return fmt.Errorf("delete %s: %w", h, err)
	}
	p := s.path(h)
	err := os.Remove(p)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err == nil {
		err = syncDir(filepath.Dir(p))
	}
	if err != nil {
		return fmt.Errorf("delete %s: %w", h, err)
	}
	return nil
}

// errNotRegular: something other than a file sits where an object belongs. It is not
// ErrNotFound: a directory or device there is damage to report, not an absent object.
var errNotRegular = errors.New("not a regular file")

// check validates h and ctx, the preamble of every method.
func (s *Store) check(ctx context.Context, h remote.Handle) error {
	if err := h.Validate(); err != nil {
		return err
	}
	if h.Type == remote.Data && len(h.Name) < 2 {
		// The shard folder is named by the first two characters.
		return fmt.Errorf("%w: data name %q is shorter than 2", remote.ErrInvalidHandle, h.Name)
	}
	return ctx.Err()
}

// path is the file of a validated handle.
func (s *Store) path(h remote.Handle) string {
	switch h.Type {
	case remote.Config:
		return filepath.Join(s.dir, string(remote.Config))
	case remote.Data:
		return filepath.Join(s.dir, string(remote.Data), h.Name[:2], h.Name)
	default:
		return filepath.Join(s.dir, string(h.Type), h.Name)
	}
}

// mapErr turns the file system's "does not exist" into the contract's sentinel.
func mapErr(err error) error {
	if errors.Is(err, fs.ErrNotExist) {
		return remote.ErrNotFound
	}
	return err
}

// mapWriteErr turns "no space left" (a full disk, a quota reached) into
// remote.ErrFull, keeping the system's text. A missing folder stays what it is: Put
// into a repository that vanished is no "object not found".
func mapWriteErr(err error) error {
	if errors.Is(err, syscall.ENOSPC) || errors.Is(err, syscall.EDQUOT) {
		return fullError{err}
	}
	return err
}

// fullError is a write that found no room: it reads as the system's error and is
// remote.ErrFull to errors.Is.
type fullError struct{ err error }

func (e fullError) Error() string        { return e.err.Error() }
func (e fullError) Unwrap() error        { return e.err }
func (e fullError) Is(target error) bool { return target == remote.ErrFull }
