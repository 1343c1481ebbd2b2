package restore

import (
	"context"
	"errors"
	"fmt"
	"os"
	"slices"
	"strconv"

	"golang.org/x/sync/errgroup"
	"golang.org/x/sys/unix"
)

// prepare makes every directory (parents first), cleans the directories that were
// already there (a killed run's temporary files; with Delete, what the snapshot does
// not have), then decides for every entry whether it must be written.
func (e *run) prepare(ctx context.Context, p *plan) error {
	for _, d := range p.dirs {
		if err := ctx.Err(); err != nil {
			return err
		}
		e.makeDir(d)
	}
	existing := []*dirNode{p.root}
	for _, d := range p.dirs {
		if !d.fresh && !d.failed {
			existing = append(existing, d)
		}
	}
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(e.opts.writers())
	for _, d := range existing {
		g.Go(func() error { e.clean(gctx, d); return gctx.Err() })
	}
	if err := g.Wait(); err != nil {
		return err
	}
	return e.check(ctx, p)
}

// makeDir creates d with owner-only access (its own mode comes last, so that a
// read-only directory can still be filled).
func (e *run) makeDir(d *dirNode) {
	if d.parent.failed {
		d.failed = true
		return
	}
	pfd, release, err := e.tgt.dir(d.parent)
	if errors.Is(err, errAbsent) {
		d.fresh = true
		e.logDir(d)
		return
	}
	if err != nil {
		e.dirFailed(d, err)
		return
	}
	defer release()
	if d.parent.fresh && d.parent.parent != nil && !e.opts.DryRun {
		// The parent was made by this run: nothing is in the way, and d's files get
		// the group its files get.
		d.fresh, d.newGID = true, d.parent.newGID
		err = unix.Mkdirat(pfd, d.name, 0o700)
	} else {
		err = e.makeDirAt(pfd, d)
	}
	if err != nil {
		e.dirFailed(d, err)
		return
	}
	e.logDir(d)
}

// makeDirAt creates d in a directory that was already there. A directory already
// there is used; a symlink or file in its place is replaced, unless Never keeps it.
func (e *run) makeDirAt(pfd int, d *dirNode) error {
	st, err := lstatAt(pfd, d.name)
	switch {
	case errors.Is(err, unix.ENOENT):
		d.fresh = true
		err = nil
		if !e.opts.DryRun {
			err = unix.Mkdirat(pfd, d.name, 0o700)
		}
	case err != nil:
	case isDir(&st):
		err = e.writable(pfd, d, &st)
	case e.opts.Overwrite == Never:
		err = errors.New("a non-directory is in the way; kept (--overwrite never)")
	default:
		d.fresh = true
		err = e.replaceWithDir(pfd, d)
	}
	if err == nil && d.fresh && !e.opts.DryRun {
		err = e.noteGroup(pfd, d)
	}
	return err
}

// noteGroup records the group a new file in d gets, so that a chown that would
// change nothing is skipped: d's group if d is setgid, else the process's.
func (e *run) noteGroup(pfd int, d *dirNode) error {
	st, err := lstatAt(pfd, d.name)
	if err != nil {
		return err
	}
	d.newGID = int64(os.Getegid())
	if st.Mode&unix.S_ISGID != 0 {
		d.newGID = int64(st.Gid)
	}
	return nil
}

func (e *run) replaceWithDir(pfd int, d *dirNode) error {
	if e.opts.DryRun {
		return nil
	}
	if err := unix.Unlinkat(pfd, d.name, 0); err != nil {
		return err
	}
	return unix.Mkdirat(pfd, d.name, 0o700)
}

// writable lets the owner write into a directory that is already there, for the
// time of the restore; its mode is set again at the end.
func (e *run) writable(pfd int, d *dirNode, st *unix.Stat_t) error {
	if e.opts.DryRun || st.Mode&0o700 == 0o700 {
		return nil
	}
	mode := st.Mode&0o7777 | 0o700
	fd, err := openDir(pfd, d.name)
	if errors.Is(err, unix.EACCES) {
		// Without read permission (a mode 000 directory left by an earlier run) it
		// cannot be opened to read: chmod it through an O_PATH descriptor, which
		// names this very directory and never a symlink put in its place.
		return chmodPath(pfd, d.name, mode)
	}
	if err != nil {
		return err
	}
	defer unix.Close(fd)
	return unix.Fchmod(fd, mode)
}

func chmodPath(pfd int, name string, mode uint32) error {
	fd, err := retry(func() (int, error) {
		return unix.Openat(pfd, name, unix.O_PATH|unix.O_DIRECTORY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
	})
	if err != nil {
		return err
	}
	defer unix.Close(fd)
	return unix.Chmod("/proc/self/fd/"+strconv.Itoa(fd), mode)
}

func (e *run) logDir(d *dirNode) {
	if e.opts.Log != nil {
		e.opts.Log("restore", d.path+"/")
	}
}

func (e *run) dirFailed(d *dirNode, err error) {
	d.failed = true
	e.problem(d.path, fmt.Errorf("directory not restored, nor anything in it: %w", err))
}

// clean removes a killed run's temporary files from a directory that was already
// there and, with Delete, the entries the snapshot does not have in it.
func (e *run) clean(ctx context.Context, d *dirNode) {
	dfd, release, err := e.tgt.dir(d)
	if errors.Is(err, errAbsent) {
		return
	}
	if err != nil {
		e.dirFailed(d, err)
		return
	}
	defer release()
	names, err := listAt(dfd)
	if err != nil {
		e.problem(d.path, fmt.Errorf("list target directory: %w", err))
		return
	}
	for _, name := range names {
		if ctx.Err() != nil {
			return
		}
		_, inSnap := slices.BinarySearch(d.names, name)
		switch {
		case inSnap:
		case isTemp(name):
			if !e.opts.DryRun {
				_ = removeAt(dfd, name)
			}
		case e.opts.Delete && d.restored && d.listed:
			e.remove(dfd, d, name)
		}
	}
}

func (e *run) remove(dfd int, d *dirNode, name string) {
	path := e.tgt.targetPath(d, name)
	if !e.opts.DryRun {
		if err := removeAt(dfd, name); err != nil {
			e.problem(path, fmt.Errorf("delete: %w", err))
			return
		}
	}
	e.count("delete", path, &e.res.Deleted)
}
