package restore

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"sort"
	"strings"
	"sync"

	"golang.org/x/sys/unix"
)

// Every call below names one path component relative to an open directory, and none
// follows a symlink: directories are opened with O_NOFOLLOW|O_DIRECTORY one level at
// a time from the target, so a symlink in the target (left by an earlier restore, put
// there by someone else, or raced in) is never descended through. os.Root would not
// do: it follows symlinks that stay inside the root.

// errAbsent: a dry run found a directory that does not exist yet.
var errAbsent = errors.New("not there yet")

// tempPrefix names the temporary files a restore writes before renaming them into
// place; a later run removes those it finds (a killed run's leftovers).
const tempPrefix = ".cairn-restore-"

func tempName() string {
	var b [8]byte
	_, _ = rand.Read(b[:])
	return tempPrefix + hex.EncodeToString(b[:]) + ".tmp"
}

func isTemp(name string) bool {
	return strings.HasPrefix(name, tempPrefix) && strings.HasSuffix(name, ".tmp") && len(name) == len(tempPrefix)+16+4
}

// maxDirFDs bounds the directory descriptors kept open; more are reopened on demand.
const maxDirFDs = 512

// target holds the open target directory and a cache of open subdirectories.
type target struct {
	path string
	fd   int // -1 in a dry run whose target does not exist yet

	mu   sync.Mutex
	dirs map[*dirNode]*dirFD
	tick uint64
}

type dirFD struct {
	fd, refs int
	used     uint64
}

func openTarget(path string, dry bool) (*target, error) {
	if !dry {
		if err := os.MkdirAll(path, 0o700); err != nil {
			return nil, fmt.Errorf("restore target: %w", err)
		}
	}
	fd, err := unix.Open(path, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if dry && errors.Is(err, unix.ENOENT) {
		fd, err = -1, nil
	}
	if err != nil {
		return nil, fmt.Errorf("restore target %s: %w", path, err)
	}
	return &target{path: path, fd: fd, dirs: map[*dirNode]*dirFD{}}, nil
}

func (t *target) close() {
	t.mu.Lock()
	defer t.mu.Unlock()
	for d, h := range t.dirs {
		unix.Close(h.fd)
		delete(t.dirs, d)
	}
	if t.fd >= 0 {
		unix.Close(t.fd)
	}
}

// dir returns an open descriptor of d and the function that releases it.
func (t *target) dir(d *dirNode) (int, func(), error) {
	if d.parent == nil {
		if t.fd < 0 {
			return -1, nil, errAbsent
		}
		return t.fd, func() {}, nil
	}
	if fd, ok := t.cached(d); ok {
		return fd, func() { t.release(d) }, nil
	}
	pfd, release, err := t.dir(d.parent)
	if err != nil {
		return -1, nil, err
	}
	fd, err := openDir(pfd, d.name)
	release()
	if errors.Is(err, unix.ENOENT) && t.fd < 0 {
		err = errAbsent
	}
	if err != nil {
		return -1, nil, err
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	h := t.dirs[d]
	if h != nil { // opened meanwhile by another goroutine
		unix.Close(fd)
	} else {
		h = &dirFD{fd: fd}
		t.dirs[d] = h
	}
	h.refs++
	t.tick++
	h.used = t.tick
	t.evict() // after taking the reference: h itself is not idle
	return h.fd, func() { t.release(d) }, nil
}

func (t *target) cached(d *dirNode) (int, bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	h := t.dirs[d]
	if h == nil {
		return -1, false
	}
	h.refs++
	t.tick++
	h.used = t.tick
	return h.fd, true
}

func (t *target) release(d *dirNode) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if h := t.dirs[d]; h != nil {
		h.refs--
	}
}

// evict closes the least recently used idle half of the cache once it is full.
func (t *target) evict() {
	if len(t.dirs) <= maxDirFDs {
		return
	}
	var idle []*dirNode
	for d, h := range t.dirs {
		if h.refs == 0 {
			idle = append(idle, d)
		}
	}
	sort.Slice(idle, func(i, j int) bool { return t.dirs[idle[i]].used < t.dirs[idle[j]].used })
	for _, d := range idle[:len(idle)/2] {
		unix.Close(t.dirs[d].fd)
		delete(t.dirs, d)
	}
}

// openDir opens a subdirectory; a symlink fails (ELOOP), as does anything else.
func openDir(dfd int, name string) (int, error) {
	return retry(func() (int, error) {
		return unix.Openat(dfd, name, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
	})
}

func lstatAt(dfd int, name string) (unix.Stat_t, error) {
	var st unix.Stat_t
	_, err := retry(func() (int, error) { return 0, unix.Fstatat(dfd, name, &st, unix.AT_SYMLINK_NOFOLLOW) })
	return st, err
}

// listAt returns the names in the directory open as dfd.
func listAt(dfd int) ([]string, error) {
	fd, err := retry(func() (int, error) {
		return unix.Openat(dfd, ".", unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	})
	if err != nil {
		return nil, err
	}
	f := os.NewFile(uintptr(fd), ".")
	defer f.Close()
	return f.Readdirnames(-1)
}

// removeAt removes one entry; a directory is removed with everything in it, never
// following a symlink.
func removeAt(dfd int, name string) error {
	st, err := lstatAt(dfd, name)
	if err != nil {
		return err
	}
	if st.Mode&unix.S_IFMT != unix.S_IFDIR {
		return unix.Unlinkat(dfd, name, 0)
	}
	sub, err := openDir(dfd, name)
	if err != nil {
		return err
	}
	names, err := listAt(sub)
	for _, n := range names {
		if err == nil {
			err = removeAt(sub, n)
		}
	}
	unix.Close(sub)
	if err != nil {
		return err
	}
	return unix.Unlinkat(dfd, name, unix.AT_REMOVEDIR)
}

// retry repeats a system call interrupted by a signal.
func retry(fn func() (int, error)) (int, error) {
	for {
		n, err := fn()
		if !errors.Is(err, unix.EINTR) {
			return n, err
		}
	}
}

func isDir(st *unix.Stat_t) bool { return st.Mode&unix.S_IFMT == unix.S_IFDIR }
func isReg(st *unix.Stat_t) bool { return st.Mode&unix.S_IFMT == unix.S_IFREG }

// targetPath names where a directory's entry lands, for messages about the target.
func (t *target) targetPath(d *dirNode, name string) string {
	parts := []string{name}
	for ; d != nil && d.parent != nil; d = d.parent {
		parts = append(parts, d.name)
	}
	for i, j := 0, len(parts)-1; i < j; i, j = i+1, j-1 {
		parts[i], parts[j] = parts[j], parts[i]
	}
	return strings.TrimSuffix(t.path, "/") + "/" + strings.Join(parts, "/")
}
