package restore

import (
	"errors"
	"fmt"
	"sync"

	"golang.org/x/sys/unix"
)

// maxOpenFiles bounds the temporary files held open between writes; a file beyond it
// is closed after each write and reopened for the next.
const maxOpenFiles = 256

// fileWrite is the state of a file written under a temporary name in its directory.
type fileWrite struct {
	mu      sync.Mutex
	pending int32 // blob uses not yet written
	open    bool
	anon    bool // created unnamed (O_TMPFILE): linked to its name when complete
	fd      int
	tmp     string // the temporary name, once created
	err     error  // the first failure: the file is not put in place
}

// write puts one blob (or the error that kept it from being read) at off in f; the
// writer that completes the file puts it in place.
func (e *run) write(f *fileNode, off int64, data []byte, err error) {
	w := &f.w
	w.mu.Lock()
	if err != nil && w.err == nil {
		w.err = fmt.Errorf("chunk at offset %d: %w", off, err)
	}
	if w.err == nil {
		if w.err = e.pwrite(f, off, data); w.err == nil {
			e.addBytes(int64(len(data)))
		}
	}
	w.pending--
	done := w.pending == 0
	if !done && w.open && !w.anon && e.openFiles.Load() > maxOpenFiles {
		e.closeTemp(f)
	}
	w.mu.Unlock()
	if done {
		e.finishFile(f)
	}
}

func (e *run) pwrite(f *fileNode, off int64, data []byte) error {
	if err := e.openTemp(f); err != nil {
		return err
	}
	for len(data) > 0 {
		n, err := retry(func() (int, error) { return unix.Pwrite(f.w.fd, data, off) })
		if err != nil {
			return fmt.Errorf("write: %w", err)
		}
		data, off = data[n:], off+int64(n)
	}
	return nil
}

// openTemp creates the file's temporary inode, or reopens it after closeTemp. A file
// written at once in a directory this run made is created unnamed (O_TMPFILE) and
// linked to its name when complete: one directory update instead of two (create and
// rename), and nothing left behind by a killed run. Other files get a temporary name.
func (e *run) openTemp(f *fileNode) error {
	w := &f.w
	if w.open {
		return nil
	}
	dfd, release, err := e.tgt.dir(f.dir)
	if err != nil {
		return err
	}
	defer release()
	mode, _ := e.createMode(f.meta.mode)
	fd, err := -1, unix.EOPNOTSUPP
	if w.tmp == "" && f.dir.fresh && w.pending <= 1 && !e.noTmpfile.Load() {
		fd, err = retry(func() (int, error) {
			return unix.Openat(dfd, ".", unix.O_TMPFILE|unix.O_RDWR|unix.O_CLOEXEC, mode)
		})
		if errors.Is(err, unix.EOPNOTSUPP) || errors.Is(err, unix.EISDIR) || errors.Is(err, unix.EINVAL) {
			e.noTmpfile.Store(true) // the file system or kernel has none: names from now on
		}
		w.anon = err == nil
	}
	if !w.anon {
		fd, err = e.openNamed(dfd, f, mode)
	}
	if err != nil {
		return fmt.Errorf("create: %w", err)
	}
	if f.sparse && f.size > 0 {
		if err := unix.Ftruncate(fd, f.size); err != nil { // a trailing hole
			unix.Close(fd)
			return fmt.Errorf("truncate: %w", err)
		}
	}
	w.fd, w.open = fd, true
	e.openFiles.Add(1)
	return nil
}

// openNamed creates the temporary file under a new temporary name, or reopens it.
func (e *run) openNamed(dfd int, f *fileNode, mode uint32) (int, error) {
	flags := unix.O_RDWR | unix.O_NOFOLLOW | unix.O_CLOEXEC
	name := f.w.tmp
	if name == "" {
		name, flags = tempName(), flags|unix.O_CREAT|unix.O_EXCL
	}
	fd, err := retry(func() (int, error) { return unix.Openat(dfd, name, flags, mode) })
	if err == nil {
		f.w.tmp = name
	}
	return fd, err
}

// createMode is the mode to create a file with, and whether it needs a chmod after:
// the final mode when the umask leaves it whole and it has no setuid, setgid or
// sticky bit (which come after chown), else owner-only.
func (e *run) createMode(m uint32) (uint32, bool) {
	m = e.mode(m)
	if e.umask >= 0 && m&0o7000 == 0 && m&uint32(e.umask) == 0 {
		return m, false
	}
	return 0o600, true
}

func (e *run) closeTemp(f *fileNode) {
	if f.w.open {
		unix.Close(f.w.fd)
		f.w.open = false
		e.openFiles.Add(-1)
	}
}
