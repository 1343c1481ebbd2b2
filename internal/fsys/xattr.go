package fsys

import (
	"errors"
	"fmt"
	"sort"
	"strings"

	"golang.org/x/sys/unix"
)

// Xattr is one extended attribute.
type Xattr struct {
	Name  string
	Value []byte
}

// Bounds match what the manifest can store; the kernel's own limit is 64 KiB a value.
const (
	maxXattrs     = 1024
	maxXattrValue = 64 << 10
)

// Xattrs returns path's extended attributes sorted by name, without following a
// symlink. File systems without xattr support give none.
func Xattrs(path string) ([]Xattr, error) {
	var out []Xattr
	err := xattrPath(path, func(p string) error {
		var err error
		out, err = readXattrs(p, path)
		return err
	})
	return out, err
}

// readXattrs reads the xattrs of p; messages name path.
func readXattrs(p, path string) ([]Xattr, error) {
	names, err := listXattr(p, path)
	if err != nil || len(names) == 0 {
		return nil, err
	}
	if len(names) > maxXattrs {
		return nil, fmt.Errorf("%s: %d extended attributes exceed %d", path, len(names), maxXattrs)
	}
	out := make([]Xattr, 0, len(names))
	for _, name := range names {
		v, err := getXattr(p, name)
		if errors.Is(err, unix.ENODATA) {
			continue // removed since the listing
		}
		if err != nil {
			return nil, fmt.Errorf("%s: xattr %q: %w", path, name, err)
		}
		out = append(out, Xattr{Name: name, Value: v})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, nil
}

func unsupported(err error) bool {
	return errors.Is(err, unix.ENOTSUP) || errors.Is(err, unix.EOPNOTSUPP)
}

func listXattr(p, path string) ([]string, error) {
	buf := make([]byte, 256)
	for {
		n, err := unix.Llistxattr(p, buf)
		if unsupported(err) {
			return nil, nil
		}
		if errors.Is(err, unix.ERANGE) {
			size, err := unix.Llistxattr(p, nil)
			if err != nil {
				return nil, fmt.Errorf("%s: list xattrs: %w", path, err)
			}
			buf = make([]byte, size+256)
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("%s: list xattrs: %w", path, err)
		}
		var names []string
		for _, s := range strings.Split(string(buf[:n]), "\x00") {
			if s != "" {
				names = append(names, s)
			}
		}
		return names, nil
	}
}

func getXattr(path, name string) ([]byte, error) {
	buf := make([]byte, 256)
	for {
		n, err := unix.Lgetxattr(path, name, buf)
		if errors.Is(err, unix.ERANGE) {
			if len(buf) >= maxXattrValue {
				return nil, fmt.Errorf("value exceeds %d bytes", maxXattrValue)
			}
			buf = make([]byte, maxXattrValue)
			continue
		}
		if err != nil {
			return nil, err
		}
		return append([]byte(nil), buf[:n]...), nil
	}
}

// SetXattrs writes attributes on path without following a symlink (restore).
func SetXattrs(path string, xs []Xattr) error {
	var errs []error
	err := xattrPath(path, func(p string) error {
		for _, x := range xs {
			if err := unix.Lsetxattr(p, x.Name, x.Value, 0); err != nil && !unsupported(err) {
				errs = append(errs, fmt.Errorf("%s: set xattr %q: %w", path, x.Name, err))
			}
		}
		return nil
	})
	return errors.Join(append(errs, err)...)
}
