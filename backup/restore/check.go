package restore

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"

	"github.com/cairn-backup/cairn/internal/digest"
	"github.com/cairn-backup/cairn/manifest"
	"golang.org/x/sync/errgroup"
	"golang.org/x/sys/unix"
)

// check decides, for every entry of a directory that was already there, whether it
// must be written; in a directory this run created, everything must, unlooked at.
func (e *run) check(ctx context.Context, p *plan) error {
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(e.opts.writers())
	for _, f := range p.files {
		switch {
		case f.dir.failed:
			f.act = actSkip
		case !f.dir.fresh:
			g.Go(func() error { f.act = e.checkFile(f); return gctx.Err() })
		}
	}
	for _, o := range p.others {
		switch {
		case o.dir.failed:
			o.act = actSkip
		case !o.dir.fresh:
			g.Go(func() error { o.act = e.checkOther(o); return gctx.Err() })
		}
	}
	return g.Wait()
}

// existing looks at what is at name in d and decides when that is enough: nothing
// there (write), a failure (skip), Never (keep), a directory in the way. Otherwise it
// leaves the decision to same, given the directory and the entry's lstat.
func (e *run) existing(d *dirNode, name, path string, same func(dfd int, st *unix.Stat_t) action) action {
	dfd, release, err := e.tgt.dir(d)
	if errors.Is(err, errAbsent) {
		return actWrite
	}
	if err != nil {
		e.problem(path, err)
		return actSkip
	}
	defer release()
	st, err := lstatAt(dfd, name)
	switch {
	case errors.Is(err, unix.ENOENT):
		return actWrite
	case err != nil:
		e.problem(path, err)
		return actSkip
	case e.opts.Overwrite == Never:
		e.count("keep", path, &e.res.Kept)
		e.prog.Files.Add(1)
		return actKeep
	case isDir(&st):
		return e.dirInTheWay(dfd, d, name, path)
	case e.opts.Overwrite == Always:
		return actWrite
	}
	return same(dfd, &st)
}

// dirInTheWay handles a directory where the snapshot has something else: Delete or
// Overwrite always removes it, otherwise the entry is not restored.
func (e *run) dirInTheWay(dfd int, d *dirNode, name, path string) action {
	if !e.opts.Delete && e.opts.Overwrite != Always {
		e.problem(path, errors.New("a directory is in the way (--overwrite always or --delete replaces it)"))
		return actSkip
	}
	e.remove(dfd, d, name)
	return actWrite
}

func (e *run) checkFile(f *fileNode) action {
	return e.existing(f.dir, f.name, f.path(), func(dfd int, st *unix.Stat_t) action { return e.sameFile(dfd, f, st) })
}

// sameFile: a regular file of the snapshot's size, mtime and content is left in place,
// its mode and owner corrected. Size and mtime alone would keep a file whose content
// was changed behind them; reading it back is cheaper than fetching it again.
func (e *run) sameFile(dfd int, f *fileNode, st *unix.Stat_t) action {
	if !isReg(st) || st.Size != f.size || st.Mtim.Nano() != f.meta.mtime {
		return actWrite
	}
	if err := verifyAt(dfd, f.name, f.chunks); err != nil {
		return actWrite
	}
	if err := e.fixMeta(dfd, f, st); err != nil {
		e.problem(f.path(), err)
	}
	e.count("unchanged", f.path(), &e.res.Unchanged)
	e.prog.Files.Add(1)
	e.prog.Bytes.Add(f.size)
	return actUnchanged
}

// fixMeta sets the mode and owner of an unchanged file, if they differ.
func (e *run) fixMeta(dfd int, f *fileNode, st *unix.Stat_t) error {
	mode := e.mode(f.meta.mode)
	ownerOK := !e.opts.Owner || (st.Uid == f.meta.uid && st.Gid == f.meta.gid)
	if e.opts.DryRun || (ownerOK && st.Mode&0o7777 == mode) {
		return nil
	}
	fd, err := openFile(dfd, f.name, unix.O_RDONLY)
	if err != nil {
		return err
	}
	defer unix.Close(fd)
	if !ownerOK {
		if err := unix.Fchown(fd, int(f.meta.uid), int(f.meta.gid)); err != nil {
			return fmt.Errorf("chown: %w", err)
		}
	}
	return unix.Fchmod(fd, mode) // after chown, which clears setuid bits
}

func (e *run) checkOther(o *otherNode) action {
	return e.existing(o.dir, o.name, o.path, func(dfd int, st *unix.Stat_t) action {
		if st.Mtim.Nano() != o.meta.mtime || !e.sameOther(dfd, o, st) {
			return actWrite
		}
		e.count("unchanged", o.path, &e.res.Unchanged)
		e.prog.Files.Add(1)
		return actUnchanged
	})
}

// sameOther: the same type, target (symlinks), mode and device number.
func (e *run) sameOther(dfd int, o *otherNode, st *unix.Stat_t) bool {
	typ := st.Mode & unix.S_IFMT
	if typ != fileType(o) {
		return false
	}
	if typ == unix.S_IFLNK {
		buf := make([]byte, len(o.target)+1)
		n, err := unix.Readlinkat(dfd, o.name, buf)
		return err == nil && string(buf[:n]) == o.target
	}
	return st.Mode&0o7777 == e.mode(o.meta.mode) && st.Rdev == o.rdev
}

// openFile opens an existing regular file without following a symlink, and without
// blocking should it have become a FIFO.
func openFile(dfd int, name string, flags int) (int, error) {
	fd, err := retry(func() (int, error) {
		return unix.Openat(dfd, name, flags|unix.O_NOFOLLOW|unix.O_NONBLOCK|unix.O_CLOEXEC, 0)
	})
	if err != nil {
		return -1, err
	}
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil || !isReg(&st) {
		unix.Close(fd)
		return -1, fmt.Errorf("%s: not a regular file", name)
	}
	return fd, nil
}

// verifyAt checks a file's content against its chunk ids.
func verifyAt(dfd int, name string, chunks []manifest.Chunk) error {
	fd, err := openFile(dfd, name, unix.O_RDONLY)
	if err != nil {
		return err
	}
	defer unix.Close(fd)
	return verifyFD(fd, chunks)
}

// verifyFD reads a file back and checks every chunk's SHA-256.
func verifyFD(fd int, chunks []manifest.Chunk) error {
	var buf []byte
	var off int64
	for i, c := range chunks {
		if cap(buf) < int(c.Size) {
			buf = make([]byte, c.Size)
		}
		b := buf[:c.Size]
		if err := preadFull(fd, b, off); err != nil {
			return fmt.Errorf("verify: chunk %d: %w", i, err)
		}
		if digest.ID(sha256.Sum256(b)) != c.ID {
			return fmt.Errorf("verify: chunk %d at offset %d differs from the snapshot", i, off)
		}
		off += int64(c.Size)
	}
	return nil
}

func preadFull(fd int, b []byte, off int64) error {
	for len(b) > 0 {
		n, err := retry(func() (int, error) { return unix.Pread(fd, b, off) })
		if err != nil {
			return err
		}
		if n == 0 {
			return errors.New("file shorter than its size")
		}
		b, off = b[n:], off+int64(n)
	}
	return nil
}
