package fsys

import (
	"os"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"
)

// pathMax is the longest path, with its NUL, that the kernel resolves in one call.
const pathMax = unix.PathMax

// long reports whether the kernel refuses path whole (ENAMETOOLONG): such a path is
// resolved through directory descriptors instead.
func long(path string) bool { return len(path) >= pathMax }

// at runs fn with the open parent directory of a long path and its last name. The
// parent is opened a few components at a time, each part relative to the last
// (openat), so a path of any length resolves; every part is shorter than pathMax.
// The descriptor is closed when fn returns.
func at(path string, fn func(dfd int, name string) error) error {
	i := strings.LastIndexByte(path, '/')
	if i < 0 {
		return fn(unix.AT_FDCWD, path)
	}
	dir, name := path[:i], path[i+1:]
	if dir == "" {
		dir = "/"
	}
	dfd, err := openLongDir(dir)
	if err != nil {
		return err
	}
	defer unix.Close(dfd)
	return fn(dfd, name)
}

// openLongDir opens the directory dir for use as a dirfd (O_PATH), part by part.
func openLongDir(dir string) (int, error) {
	fd, rest := unix.AT_FDCWD, dir
	for {
		part := rest
		rest = ""
		if len(part) >= pathMax {
			cut := strings.LastIndexByte(part[:pathMax-1], '/')
			if cut <= 0 {
				return -1, unix.ENAMETOOLONG // no component is this long (NAME_MAX is 255)
			}
			part, rest = part[:cut], strings.TrimLeft(part[cut:], "/")
		}
		var next int
		err := ignoringEINTR(func() error {
			var err error
			next, err = unix.Openat(fd, part, unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
			return err
		})
		if fd != unix.AT_FDCWD {
			unix.Close(fd)
		}
		if err != nil {
			return -1, err
		}
		fd = next
		if rest == "" {
			return fd, nil
		}
	}
}

// procPath names the entry name of the directory dfd by a short path, for the calls
// that have no *at form (the xattr calls): /proc/self/fd/N resolves to the directory.
func procPath(dfd int, name string) string {
	return "/proc/self/fd/" + strconv.Itoa(dfd) + "/" + name
}

// openLong opens a long path with flags, as os.OpenFile would open a short one.
func openLong(path string, flags int) (*os.File, error) {
	var f *os.File
	err := at(path, func(dfd int, name string) error {
		return ignoringEINTR(func() error {
			fd, err := unix.Openat(dfd, name, flags|unix.O_CLOEXEC, 0)
			if err == nil {
				f = os.NewFile(uintptr(fd), path)
			}
			return err
		})
	})
	if err != nil {
		return nil, &os.PathError{Op: "open", Path: path, Err: err}
	}
	return f, nil
}

func lstatLong(path string, st *unix.Stat_t) error {
	return at(path, func(dfd int, name string) error {
		return ignoringEINTR(func() error { return unix.Fstatat(dfd, name, st, unix.AT_SYMLINK_NOFOLLOW) })
	})
}

func readlinkLong(path string) (string, error) {
	var target string
	err := at(path, func(dfd int, name string) error {
		for size := 256; ; size *= 2 {
			buf := make([]byte, size)
			n, err := unix.Readlinkat(dfd, name, buf)
			if err != nil {
				return err
			}
			if n < size {
				target = string(buf[:n])
				return nil
			}
		}
	})
	if err != nil {
		return "", &os.PathError{Op: "readlink", Path: path, Err: err}
	}
	return target, nil
}

// xattrPath runs fn with a path the xattr calls accept for path.
func xattrPath(path string, fn func(p string) error) error {
	if !long(path) {
		return fn(path)
	}
	return at(path, func(dfd int, name string) error { return fn(procPath(dfd, name)) })
}
