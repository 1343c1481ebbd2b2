package restore

import (
	"errors"
	"fmt"
	"strconv"

	"golang.org/x/sys/unix"
)

// finishFile seals a complete file (verify, fsync, owner, mode, xattrs, times) and
// puts it in place under its name, then makes its other hard-link names. A file that
// failed is removed and reported, with its other names.
func (e *run) finishFile(f *fileNode) {
	w := &f.w
	w.mu.Lock()
	defer w.mu.Unlock()
	err := w.err
	if err == nil {
		err = e.openTemp(f) // an empty file, or all holes, is created only now
	}
	if err == nil {
		err = e.seal(f)
	}
	if err == nil {
		err = e.place(f)
	}
	e.closeTemp(f)
	if err != nil {
		e.discard(f)
		e.problem(f.path(), err)
		e.lostLinks(f)
		return
	}
	e.count("restore", f.path(), &e.res.Files)
	e.prog.Files.Add(1)
	f.chunks = nil
	e.linkAll(f)
}

func (e *run) seal(f *fileNode) error {
	fd := f.w.fd
	if e.opts.Verify {
		if err := verifyFD(fd, f.chunks); err != nil {
			return err
		}
	}
	if e.opts.Sync {
		if err := unix.Fsync(fd); err != nil {
			return fmt.Errorf("fsync: %w", err)
		}
	}
	_, chmod := e.createMode(f.meta.mode)
	chown := !f.dir.fresh || int(f.meta.uid) != e.euid || int64(f.meta.gid) != f.dir.newGID
	if err := e.setMetaFD(fd, &f.meta, chmod, chown); err != nil {
		return err
	}
	return setTimesFD(fd, f.meta.mtime)
}

// place gives the complete file its name: it links an unnamed file, or renames the
// temporary name over the final one.
func (e *run) place(f *fileNode) error {
	dfd, release, err := e.tgt.dir(f.dir)
	if err != nil {
		return err
	}
	defer release()
	if f.w.anon {
		return linkAnon(f.w.fd, dfd, f.name)
	}
	if err := unix.Renameat(dfd, f.w.tmp, dfd, f.name); err != nil {
		return fmt.Errorf("rename into place: %w", err)
	}
	f.w.tmp = ""
	return nil
}

// linkAnon links an O_TMPFILE file to name; a name that appeared meanwhile is
// replaced through a temporary link, as a renamed file would replace it.
func linkAnon(fd, dfd int, name string) error {
	err := linkFD(fd, dfd, name)
	if errors.Is(err, unix.EEXIST) {
		tmp := tempName()
		if err = linkFD(fd, dfd, tmp); err == nil {
			if err = unix.Renameat(dfd, tmp, dfd, name); err != nil {
				_ = unix.Unlinkat(dfd, tmp, 0)
			}
		}
	}
	if err != nil {
		return fmt.Errorf("link into place: %w", err)
	}
	return nil
}

// linkFD links an open file: by descriptor (AT_EMPTY_PATH needs CAP_DAC_READ_SEARCH),
// else through /proc/self/fd, which any user may.
func linkFD(fd, dfd int, name string) error {
	err := unix.Linkat(fd, "", dfd, name, unix.AT_EMPTY_PATH)
	if errors.Is(err, unix.EPERM) || errors.Is(err, unix.ENOENT) || errors.Is(err, unix.EINVAL) {
		err = unix.Linkat(unix.AT_FDCWD, procFD(fd), dfd, name, unix.AT_SYMLINK_FOLLOW)
	}
	return err
}

// namedTempsOnly makes every run use named temporary files (tests of that path).
var namedTempsOnly = false

// probeTmpfile checks once, in the target, that an unnamed file can be made and linked
// (O_TMPFILE needs file system support, and linking needs a capability or /proc);
// if not, every file gets a temporary name instead.
func (e *run) probeTmpfile() {
	if namedTempsOnly {
		e.noTmpfile.Store(true)
		return
	}
	fd, err := unix.Openat(e.tgt.fd, ".", unix.O_TMPFILE|unix.O_RDWR|unix.O_CLOEXEC, 0o600)
	if err != nil {
		e.noTmpfile.Store(true)
		return
	}
	defer unix.Close(fd)
	name := tempName()
	if err := linkFD(fd, e.tgt.fd, name); err != nil {
		e.noTmpfile.Store(true)
		return
	}
	_ = unix.Unlinkat(e.tgt.fd, name, 0)
}

func procFD(fd int) string { return "/proc/self/fd/" + strconv.Itoa(fd) }

// setTimesFD sets atime and mtime of an open file (the snapshot keeps no atime: it is
// set to the mtime), falling back to /proc/self/fd on kernels whose utimensat lacks
// AT_EMPTY_PATH.
func setTimesFD(fd int, mtime int64) error {
	ts := unix.NsecToTimespec(mtime)
	times := []unix.Timespec{ts, ts}
	err := unix.UtimesNanoAt(fd, "", times, unix.AT_EMPTY_PATH)
	if err != nil {
		err = unix.UtimesNanoAt(unix.AT_FDCWD, procFD(fd), times, 0)
	}
	if err != nil {
		return fmt.Errorf("set times: %w", err)
	}
	return nil
}

// discard removes the temporary file of a file that failed; an unnamed one vanishes
// when closed.
func (e *run) discard(f *fileNode) {
	if f.w.tmp == "" {
		return
	}
	if dfd, release, err := e.tgt.dir(f.dir); err == nil {
		_ = unix.Unlinkat(dfd, f.w.tmp, 0)
		release()
	}
	f.w.tmp = ""
}

// lostLinks reports the other names of a file that was not restored.
func (e *run) lostLinks(f *fileNode) {
	for l := f.links; l != nil; l = l.next {
		if !l.dir.failed {
			e.problem(l.path, fmt.Errorf("hard link to %s, which was not restored", f.path()))
		}
	}
}

// linkAll makes f's other hard-link names once f is in place.
func (e *run) linkAll(f *fileNode) {
	for l := f.links; l != nil; l = l.next {
		if l.dir.failed {
			continue
		}
		if e.opts.DryRun {
			e.count("link", l.path, &e.res.Links)
			continue
		}
		if err := e.link(f, l); err != nil {
			e.problem(l.path, err)
		}
		e.prog.Files.Add(1)
	}
}

// link makes l another name of f: atomically, as a temporary link renamed over l.
func (e *run) link(f *fileNode, l *linkName) error {
	pfd, prelease, err := e.tgt.dir(f.dir)
	if err != nil {
		return err
	}
	defer prelease()
	lfd, lrelease, err := e.tgt.dir(l.dir)
	if err != nil {
		return err
	}
	defer lrelease()
	pst, err := lstatAt(pfd, f.name)
	if err != nil {
		return fmt.Errorf("hard link to %s: %w", f.path(), err)
	}
	st, err := lstatAt(lfd, l.name)
	switch {
	case err == nil && st.Ino == pst.Ino && st.Dev == pst.Dev:
		e.count("unchanged", l.path, &e.res.Unchanged)
		return nil
	case err == nil && e.opts.Overwrite == Never:
		e.count("keep", l.path, &e.res.Kept)
		return nil
	case err == nil && isDir(&st):
		if e.dirInTheWay(lfd, l.dir, l.name, l.path) == actSkip {
			return nil
		}
	case err != nil && !errors.Is(err, unix.ENOENT):
		return err
	}
	tmp := tempName()
	if err := unix.Linkat(pfd, f.name, lfd, tmp, 0); err != nil {
		return fmt.Errorf("hard link to %s: %w", f.path(), err)
	}
	if err := unix.Renameat(lfd, tmp, lfd, l.name); err != nil {
		_ = unix.Unlinkat(lfd, tmp, 0)
		return fmt.Errorf("rename into place: %w", err)
	}
	e.count("link", l.path, &e.res.Links)
	return nil
}
