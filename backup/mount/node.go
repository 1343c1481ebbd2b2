package mount

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/cairn-backup/cairn/internal/digest"
	"github.com/cairn-backup/cairn/manifest"
	"github.com/hanwen/go-fuse/v2/fs"
	"github.com/hanwen/go-fuse/v2/fuse"
)

// mountFS is what every node of one mount shares.
type mountFS struct {
	trees     manifest.BlobLoader // directory nodes and chunk lists
	cache     *blobCache          // file contents
	readAhead int                 // blobs loaded ahead of a read
	warn      func(error)         // why a request failed (the caller only sees EIO)
	uid, gid  uint32              // owner of the synthetic directories
}

// fail reports err and answers the request with EIO.
func (m *mountFS) fail(err error) syscall.Errno {
	if m.warn != nil {
		m.warn(err)
	}
	return syscall.EIO
}

// typeBits returns the S_IF* bits of a manifest type.
func typeBits(t manifest.Type) uint32 {
	switch t {
	case manifest.Dir:
		return syscall.S_IFDIR
	case manifest.Symlink:
		return syscall.S_IFLNK
	case manifest.FIFO:
		return syscall.S_IFIFO
	case manifest.Socket:
		return syscall.S_IFSOCK
	case manifest.CharDev:
		return syscall.S_IFCHR
	case manifest.BlockDev:
		return syscall.S_IFBLK
	}
	return syscall.S_IFREG
}

// entryAttr returns the attributes of a stored entry: its mode, owner, size, times.
func entryAttr(e *manifest.Entry) fuse.Attr {
	a := fuse.Attr{Mode: typeBits(e.Type) | e.Mode&0o7777, Size: e.Size, Blocks: (e.Size + 511) / 512,
		Nlink: max(e.Nlink, 1), Rdev: uint32(e.Rdev)}
	a.Uid, a.Gid = e.UID, e.GID
	if e.Type == manifest.Symlink {
		a.Size = uint64(len(e.Target))
	}
	m, c := time.Unix(0, e.MTime), time.Unix(0, e.CTime)
	a.SetTimes(&m, &m, &c)
	return a
}

// synthAttr returns the attributes of a directory above the snapshots' contents.
func (m *mountFS) synthAttr(mode uint32, t time.Time) fuse.Attr {
	a := fuse.Attr{Mode: mode, Nlink: 1}
	a.Uid, a.Gid = m.uid, m.gid
	a.SetTimes(&t, &t, &t)
	return a
}

// newChild makes the node of a stored entry.
func (m *mountFS) newChild(ctx context.Context, parent *fs.Inode, e *manifest.Entry) *fs.Inode {
	attr := entryAttr(e)
	var node fs.InodeEmbedder
	switch e.Type {
	case manifest.Dir:
		node = &dirNode{m: m, attr: attr, tree: e.Subtree, root: e.Content}
	case manifest.File:
		node = &fileNode{m: m, attr: attr, entry: *e}
	case manifest.Symlink:
		node = &linkNode{attr: attr, target: e.Target}
	default:
		node = &specialNode{attr: attr}
	}
	return parent.NewInode(ctx, node, fs.StableAttr{Mode: typeBits(e.Type)})
}

// dirNode is a stored directory, read when it is first listed or looked into.
type dirNode struct {
	fs.Inode
	m          *mountFS
	attr       fuse.Attr
	tree, root digest.ID // node blob and Merkle root; a zero tree is empty

	mu      sync.Mutex
	entries []manifest.Entry
	loaded  bool
}

var (
	_ fs.NodeLookuper  = (*dirNode)(nil)
	_ fs.NodeReaddirer = (*dirNode)(nil)
	_ fs.NodeGetattrer = (*dirNode)(nil)
)

func (d *dirNode) load(ctx context.Context) ([]manifest.Entry, syscall.Errno) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.loaded || d.tree.IsZero() {
		return d.entries, 0
	}
	n, err := manifest.ReadDir(ctx, d.m.trees, d.tree, d.root)
	if err != nil {
		return nil, d.m.fail(fmt.Errorf("read directory %s: %w", d.Path(nil), err))
	}
	d.entries, d.loaded = n.Entries, true
	return d.entries, 0
}

func (d *dirNode) Getattr(_ context.Context, _ fs.FileHandle, out *fuse.AttrOut) syscall.Errno {
	out.Attr = d.attr
	return 0
}

func (d *dirNode) Readdir(ctx context.Context) (fs.DirStream, syscall.Errno) {
	entries, errno := d.load(ctx)
	if errno != 0 {
		return nil, errno
	}
	list := make([]fuse.DirEntry, 0, len(entries))
	for i := range entries {
		// A hostile tree may hold names no directory can ("a/b", ".."): not shown.
		if manifest.ValidName(entries[i].Name) {
			list = append(list, fuse.DirEntry{Name: entries[i].Name, Mode: typeBits(entries[i].Type)})
		}
	}
	return fs.NewListDirStream(list), 0
}

func (d *dirNode) Lookup(ctx context.Context, name string, out *fuse.EntryOut) (*fs.Inode, syscall.Errno) {
	entries, errno := d.load(ctx)
	if errno != 0 {
		return nil, errno
	}
	i, ok := slices.BinarySearchFunc(entries, name, func(e manifest.Entry, n string) int { return strings.Compare(e.Name, n) })
	if !ok || !manifest.ValidName(name) {
		return nil, syscall.ENOENT
	}
	out.Attr = entryAttr(&entries[i])
	return d.m.newChild(ctx, &d.Inode, &entries[i]), 0
}

// linkNode is a symbolic link, stored or synthetic ("latest").
type linkNode struct {
	fs.Inode
	attr   fuse.Attr
	target string
}

func (l *linkNode) Getattr(_ context.Context, _ fs.FileHandle, out *fuse.AttrOut) syscall.Errno {
	out.Attr = l.attr
	return 0
}

func (l *linkNode) Readlink(context.Context) ([]byte, syscall.Errno) { return []byte(l.target), 0 }

// specialNode is a FIFO, socket or device: its attributes only.
type specialNode struct {
	fs.Inode
	attr fuse.Attr
}

func (s *specialNode) Getattr(_ context.Context, _ fs.FileHandle, out *fuse.AttrOut) syscall.Errno {
	out.Attr = s.attr
	return 0
}
