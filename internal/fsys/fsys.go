// Package fsys reads what a backup records about files: lstat with nanosecond times,
// symlink targets and extended attributes, without ever following a symlink. Paths
// longer than the kernel takes whole (PATH_MAX) are resolved through directory
// descriptors, so files of any path length can be read.
package fsys

import (
	"errors"
	"fmt"
	"os"
	"sort"
	"syscall"

	"golang.org/x/sys/unix"
)

// Kind is the type of a directory entry.
type Kind uint8

// The kinds of entries a backup records. Only Regular files are ever read.
const (
	Regular Kind = iota + 1
	Dir
	Symlink
	FIFO
	Socket
	CharDev
	BlockDev
)

// Info is the result of Lstat.
type Info struct {
	Kind   Kind
	Perm   uint32 // permission, setuid, setgid and sticky bits (07777)
	Size   int64
	MTime  int64 // ns since the epoch
	CTime  int64
	Inode  uint64
	Dev    uint64
	Nlink  uint32
	UID    uint32
	GID    uint32
	Rdev   uint64
	Blocks int64 // 512-byte blocks allocated; fewer than Size needs means holes
}

// Sparse reports whether the file occupies less space than its size: it has holes.
func (i Info) Sparse() bool { return i.Kind == Regular && i.Blocks*512 < i.Size }

// Lstat describes path itself, not what a symlink points to.
func Lstat(path string) (Info, error) {
	var st unix.Stat_t
	stat := func() error { return unix.Lstat(path, &st) }
	if long(path) {
		stat = func() error { return lstatLong(path, &st) }
	}
	if err := ignoringEINTR(stat); err != nil {
		return Info{}, &os.PathError{Op: "lstat", Path: path, Err: err}
	}
	return fromStat(&st), nil
}

// Fstat describes an open file.
func Fstat(f *os.File) (Info, error) {
	var st unix.Stat_t
	if err := unix.Fstat(int(f.Fd()), &st); err != nil {
		return Info{}, &os.PathError{Op: "fstat", Path: f.Name(), Err: err}
	}
	return fromStat(&st), nil
}

func fromStat(st *unix.Stat_t) Info {
	return Info{
		Kind:   kindOf(st.Mode),
		Perm:   st.Mode & 0o7777,
		Size:   st.Size,
		MTime:  st.Mtim.Nano(),
		CTime:  st.Ctim.Nano(),
		Inode:  st.Ino,
		Dev:    st.Dev,
		Nlink:  uint32(st.Nlink),
		UID:    st.Uid,
		GID:    st.Gid,
		Rdev:   st.Rdev,
		Blocks: st.Blocks,
	}
}

func kindOf(mode uint32) Kind {
	switch mode & unix.S_IFMT {
	case unix.S_IFREG:
		return Regular
	case unix.S_IFDIR:
		return Dir
	case unix.S_IFLNK:
		return Symlink
	case unix.S_IFIFO:
		return FIFO
	case unix.S_IFSOCK:
		return Socket
	case unix.S_IFCHR:
		return CharDev
	case unix.S_IFBLK:
		return BlockDev
	}
	return 0
}

// Readlink returns a symlink's target bytes as stored.
func Readlink(path string) (string, error) {
	if long(path) {
		return readlinkLong(path)
	}
	return os.Readlink(path)
}

// ReadDirNames lists a directory's entry names, sorted bytewise. Names are raw bytes:
// non-UTF-8 names survive unchanged.
func ReadDirNames(path string) ([]string, error) {
	open := os.Open
	if long(path) {
		open = func(path string) (*os.File, error) { return openLong(path, os.O_RDONLY|unix.O_DIRECTORY) }
	}
	f, err := open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	names, err := f.Readdirnames(-1)
	if err != nil {
		return nil, err
	}
	sort.Strings(names)
	return names, nil
}

// OpenFile opens a regular file for reading without following a symlink and, where
// permitted, without updating its access time.
func OpenFile(path string) (*os.File, error) {
	flags := os.O_RDONLY | unix.O_NOFOLLOW | unix.O_NOATIME | unix.O_CLOEXEC
	open := func(flags int) (*os.File, error) { return os.OpenFile(path, flags, 0) }
	if long(path) {
		open = func(flags int) (*os.File, error) { return openLong(path, flags) }
	}
	f, err := open(flags)
	if errors.Is(err, unix.EPERM) {
		// O_NOATIME is allowed only to the file's owner (or root).
		f, err = open(flags &^ unix.O_NOATIME)
	}
	return f, err
}

func ignoringEINTR(fn func() error) error {
	for {
		err := fn()
		if err != syscall.EINTR {
			return err
		}
	}
}

// Errno exposes the system error number of err, if it has one, for messages.
func Errno(err error) string {
	var e syscall.Errno
	if errors.As(err, &e) {
		return fmt.Sprintf("errno %d", int(e))
	}
	return ""
}
