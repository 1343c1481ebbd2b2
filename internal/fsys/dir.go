package fsys

import (
	"os"
	"path/filepath"
	"runtime"
	"slices"

	"golang.org/x/sys/unix"
)

// Directory is an open directory whose entries are described relative to it: an lstat then
// resolves one name instead of every component of the path, which makes it about a
// third cheaper in a walk of many small files.
type Directory struct {
	f    *os.File
	fd   int
	path string
}

// OpenDirectory opens the directory path itself: a symlink put in its place since it was
// seen is refused, not followed.
func OpenDirectory(path string) (*Directory, error) {
	flags := os.O_RDONLY | unix.O_DIRECTORY | unix.O_NOFOLLOW | unix.O_CLOEXEC
	var f *os.File
	var err error
	if long(path) {
		f, err = openLong(path, flags)
	} else {
		f, err = os.OpenFile(path, flags, 0)
	}
	if err != nil {
		return nil, err
	}
	return &Directory{f: f, fd: int(f.Fd()), path: path}, nil
}

// Names lists the directory's entry names, sorted bytewise.
func (d *Directory) Names() ([]string, error) {
	names, err := d.f.Readdirnames(-1)
	if err != nil {
		return nil, err
	}
	slices.Sort(names)
	return names, nil
}

// Lstat describes the entry name of the directory, not what a symlink points to.
func (d *Directory) Lstat(name string) (Info, error) {
	var st unix.Stat_t
	err := ignoringEINTR(func() error { return unix.Fstatat(d.fd, name, &st, unix.AT_SYMLINK_NOFOLLOW) })
	runtime.KeepAlive(d.f) // the descriptor stays open while it is used
	if err != nil {
		return Info{}, &os.PathError{Op: "lstat", Path: filepath.Join(d.path, name), Err: err}
	}
	return fromStat(&st), nil
}

// Close closes the directory.
func (d *Directory) Close() error { return d.f.Close() }
