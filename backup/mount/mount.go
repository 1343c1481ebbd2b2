// Package mount is the engine of `cairn mount`: it serves the snapshots of a
// repository as a read-only FUSE file system, laid out as restic's mount (ids/,
// snapshots/, hosts/, tags/; see layout). Directories are read when first listed;
// files are read blob by blob as the reader asks, through a bounded cache of
// plaintext blobs, with the next blobs loaded ahead for sequential readers.
package mount

import (
	"context"
	"errors"
	"fmt"
	"os"
	"syscall"
	"time"

	"github.com/cairn-backup/cairn/internal/repo"
	"github.com/hanwen/go-fuse/v2/fs"
	"github.com/hanwen/go-fuse/v2/fuse"
	"golang.org/x/sync/errgroup"
)

// Defaults of Options.
const (
	DefaultCacheSize = 256 << 20
	DefaultReadAhead = 4
)

// readAheadWorkers bounds the blobs loaded ahead at once, over all readers.
const readAheadWorkers = 4

// Options tune Run.
type Options struct {
	Mountpoint string
	CacheSize  int64 // bytes of plaintext blobs kept; 0: DefaultCacheSize
	ReadAhead  int   // blobs loaded ahead of a sequential read; 0: DefaultReadAhead, <0: none
	AllowOther bool  // let other users in (the kernel then checks permissions)
	Location   *time.Location
	// Ready is called once the file system is mounted.
	Ready func()
	// Warn receives why a request failed: its reader only sees EIO.
	Warn func(error)
	// UnmountWait bounds how long Run keeps trying to unmount a busy mountpoint after
	// ctx ends; 0: 10 s.
	UnmountWait time.Duration
}

// ErrBusy reports a mountpoint that stayed busy (a shell inside it, an open file)
// when Run tried to unmount it.
var ErrBusy = errors.New("mountpoint busy")

// Run mounts snaps at opts.Mountpoint and serves them until the file system is
// unmounted from outside (fusermount -u, umount) or ctx ends; then it unmounts and
// returns nil. It loads the index first.
func Run(ctx context.Context, r *repo.Repo, snaps []repo.Snapshot, opts Options) error {
	if err := r.LoadIndex(ctx); err != nil {
		return err
	}
	// Loads run on the mount's own context: a read interrupted by its caller must not
	// fail the load other readers wait for.
	lctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	defer cancel()
	var ahead errgroup.Group
	ahead.SetLimit(readAheadWorkers)
	defer func() { cancel(); _ = ahead.Wait() }()
	m := newMountFS(lctx, r, opts, &ahead)
	loc := opts.Location
	if loc == nil {
		loc = time.Local
	}
	root := &metaDir{m: m, items: layout(snaps, loc)}
	root.attr = m.synthAttr(syscall.S_IFDIR|0o555, dirItem("", root.items).MTime)
	server, err := mountAt(opts.Mountpoint, root, opts.AllowOther)
	if err != nil {
		return err
	}
	if opts.Ready != nil {
		opts.Ready()
	}
	return serve(ctx, server, opts)
}

func newMountFS(ctx context.Context, r *repo.Repo, opts Options, ahead *errgroup.Group) *mountFS {
	size := opts.CacheSize
	if size <= 0 {
		size = DefaultCacheSize
	}
	ra := opts.ReadAhead
	if ra == 0 {
		ra = DefaultReadAhead
	}
	return &mountFS{trees: r, cache: newBlobCache(ctx, loadData(r), size, ahead), readAhead: ra, warn: opts.Warn,
		uid: uint32(os.Getuid()), gid: uint32(os.Getgid())}
}

// mountAt mounts root read-only, without setuid bits or devices: with mount(2) where
// it is allowed (root), through fusermount otherwise.
func mountAt(dir string, root fs.InodeEmbedder, allowOther bool) (*fuse.Server, error) {
	forever := time.Hour // a snapshot never changes: the kernel may cache everything
	o := &fs.Options{EntryTimeout: &forever, AttrTimeout: &forever, NegativeTimeout: &forever}
	o.FsName, o.Name = "cairn", "cairn"
	// Requests of up to 512 KiB (a sequential reader gets the kernel's read-ahead,
	// 128 KiB, per request).
	o.MaxWrite = 512 << 10
	o.MaxReadAhead = 512 << 10
	// Replies are bytes in memory, never a file to splice from: go-fuse would still
	// set up a pipe for each before writing the bytes (and, for replies above the
	// pipe's 1 MiB, log a complaint on every read).
	o.DisableSplice = true
	o.AllowOther = allowOther
	if allowOther {
		o.Options = append(o.Options, "default_permissions")
	}
	direct := *o
	direct.DirectMountStrict = true
	direct.DirectMountFlags = syscall.MS_RDONLY | syscall.MS_NOSUID | syscall.MS_NODEV
	server, err := fs.Mount(dir, root, &direct)
	if err == nil {
		return server, nil
	}
	o.Options = append(o.Options, "ro", "nosuid", "nodev")
	server, ferr := fs.Mount(dir, root, o)
	if ferr != nil {
		return nil, fmt.Errorf("mount %s: %w (with mount(2): %v)", dir, ferr, err)
	}
	return server, nil
}

// serve waits until the file system is unmounted from outside or ctx ends, and then
// unmounts it, retrying while the mountpoint is busy.
func serve(ctx context.Context, server *fuse.Server, opts Options) error {
	gone := make(chan struct{})
	var g errgroup.Group
	g.Go(func() error { server.Wait(); close(gone); return nil })
	select {
	case <-gone:
		return g.Wait()
	case <-ctx.Done():
	}
	wait := opts.UnmountWait
	if wait <= 0 {
		wait = 10 * time.Second
	}
	deadline := time.Now().Add(wait)
	for {
		err := server.Unmount()
		if err == nil {
			return g.Wait()
		}
		if time.Now().After(deadline) {
			// The server goroutine stays until the process ends: it serves the
			// programs that keep the mountpoint busy.
			return fmt.Errorf("unmount %s: %w: %v (close what uses it, or run 'fusermount -u -z %s')",
				opts.Mountpoint, ErrBusy, err, opts.Mountpoint)
		}
		select {
		case <-gone:
			return g.Wait()
		case <-time.After(500 * time.Millisecond):
		}
	}
}
