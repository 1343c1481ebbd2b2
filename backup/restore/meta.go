package restore

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"

	"github.com/cairn-backup/cairn/manifest"
	"golang.org/x/sys/unix"
)

// mode returns the permission bits to set: setuid and setgid only with Special.
func (e *run) mode(m uint32) uint32 {
	if !e.opts.Special {
		m &^= unix.S_ISUID | unix.S_ISGID
	}
	return m & 0o7777
}

// setMetaFD sets owner (unless chown would change nothing), mode (unless the file was
// created with it) and xattrs through an open descriptor.
func (e *run) setMetaFD(fd int, m *meta, chmod, chown bool) error {
	if e.opts.Owner && chown {
		if err := unix.Fchown(fd, int(m.uid), int(m.gid)); err != nil {
			return fmt.Errorf("chown: %w", err)
		}
	}
	if chmod { // after chown, which clears setuid bits
		if err := unix.Fchmod(fd, e.mode(m.mode)); err != nil {
			return fmt.Errorf("chmod: %w", err)
		}
	}
	var errs []error
	for _, x := range m.xattrs {
		if err := unix.Fsetxattr(fd, x.Name, x.Value, 0); err != nil && !unsupported(err) {
			errs = append(errs, fmt.Errorf("set xattr %q: %w", x.Name, err))
		}
	}
	return errors.Join(errs...)
}

// unsupported: the target file system keeps no xattrs (of that namespace); as for a
// backup of such a file system, that is not an error.
func unsupported(err error) bool {
	return errors.Is(err, unix.ENOTSUP) || errors.Is(err, unix.EOPNOTSUPP)
}

// setTimes sets atime and mtime of name in dfd, never following a symlink. The
// snapshot keeps no atime: it is set to the mtime.
func setTimes(dfd int, name string, mtime int64) error {
	ts := unix.NsecToTimespec(mtime)
	if err := unix.UtimesNanoAt(dfd, name, []unix.Timespec{ts, ts}, unix.AT_SYMLINK_NOFOLLOW); err != nil {
		return fmt.Errorf("set times: %w", err)
	}
	return nil
}

func fileType(o *otherNode) uint32 {
	switch o.typ {
	case manifest.Symlink:
		return unix.S_IFLNK
	case manifest.FIFO:
		return unix.S_IFIFO
	case manifest.CharDev:
		return unix.S_IFCHR
	}
	return unix.S_IFBLK
}

// makeOther creates a symlink, FIFO or device under a temporary name, sets its
// metadata and renames it into place.
func (e *run) makeOther(o *otherNode) {
	if o.act != actWrite {
		return
	}
	count := &e.res.Specials
	if o.typ == manifest.Symlink {
		count = &e.res.Symlinks
	}
	if !e.opts.DryRun {
		if err := e.createOther(o); err != nil {
			e.problem(o.path, err)
			return
		}
	}
	e.count("restore", o.path, count)
	e.prog.Files.Add(1)
}

func (e *run) createOther(o *otherNode) error {
	dfd, release, err := e.tgt.dir(o.dir)
	if err != nil {
		return err
	}
	defer release()
	tmp := tempName()
	if o.typ == manifest.Symlink {
		err = unix.Symlinkat(o.target, dfd, tmp)
	} else {
		err = unix.Mknodat(dfd, tmp, fileType(o)|0o600, int(o.rdev))
	}
	if err != nil {
		return fmt.Errorf("create %s: %w", o.typ, err)
	}
	if err = e.otherMeta(dfd, tmp, o); err == nil {
		err = unix.Renameat(dfd, tmp, dfd, o.name)
	}
	if err != nil {
		_ = unix.Unlinkat(dfd, tmp, 0)
	}
	return err
}

// otherMeta sets metadata by name, without following a symlink, on the temporary
// name this run just created; the entry is never opened (opening a device can have
// effects, opening a FIFO blocks).
func (e *run) otherMeta(dfd int, name string, o *otherNode) error {
	if e.opts.Owner {
		if err := unix.Fchownat(dfd, name, int(o.meta.uid), int(o.meta.gid), unix.AT_SYMLINK_NOFOLLOW); err != nil {
			return fmt.Errorf("chown: %w", err)
		}
	}
	if o.typ != manifest.Symlink {
		if err := chmodAt(dfd, name, e.mode(o.meta.mode)); err != nil {
			return fmt.Errorf("chmod: %w", err)
		}
	}
	if len(o.meta.xattrs) > 0 {
		// lsetxattr through the directory's descriptor: /proc/self/fd/N resolves to the
		// directory itself, and the last component is not followed.
		path := "/proc/self/fd/" + strconv.Itoa(dfd) + "/" + name
		for _, x := range o.meta.xattrs {
			if err := unix.Lsetxattr(path, x.Name, x.Value, 0); err != nil && !unsupported(err) {
				return fmt.Errorf("set xattr %q: %w", x.Name, err)
			}
		}
	}
	return setTimes(dfd, name, o.meta.mtime)
}

// chmodAt changes a mode without following a symlink where the kernel can
// (fchmodat2, Linux 6.6); older kernels follow, which is safe on the name this run
// just created.
func chmodAt(dfd int, name string, mode uint32) error {
	err := unix.Fchmodat(dfd, name, mode, unix.AT_SYMLINK_NOFOLLOW)
	if errors.Is(err, unix.EOPNOTSUPP) || errors.Is(err, unix.ENOSYS) {
		err = unix.Fchmodat(dfd, name, mode, 0)
	}
	return err
}

// finishDirs sets the directories' own metadata, deepest first, once nothing more
// changes inside them (creating an entry changes a directory's mtime).
func (e *run) finishDirs(ctx context.Context, p *plan) {
	dirs := slices.Clone(p.dirs)
	slices.SortStableFunc(dirs, func(a, b *dirNode) int { return b.depth - a.depth })
	for _, d := range dirs {
		if ctx.Err() != nil {
			return
		}
		if d.failed {
			continue
		}
		if !e.opts.DryRun {
			if err := e.dirMeta(d); err != nil {
				e.problem(d.path, err)
				continue
			}
		}
		e.mu.Lock()
		e.res.Dirs++
		e.mu.Unlock()
	}
}

func (e *run) dirMeta(d *dirNode) error {
	fd, release, err := e.tgt.dir(d)
	if err != nil {
		return err
	}
	defer release()
	if err := e.setMetaFD(fd, &d.meta, true, true); err != nil {
		return err
	}
	pfd, prelease, err := e.tgt.dir(d.parent)
	if err != nil {
		return err
	}
	defer prelease()
	if d.meta.mtime == 0 {
		return nil // a parent of the backed-up paths: backup records no time for it
	}
	return setTimes(pfd, d.name, d.meta.mtime)
}
