package mount

import (
	"context"
	"syscall"

	"github.com/hanwen/go-fuse/v2/fs"
	"github.com/hanwen/go-fuse/v2/fuse"
)

// metaDir is a directory above the snapshots' contents (the top, ids/, hosts/h/…):
// its whole tree is built when it is mounted, from layout.
type metaDir struct {
	fs.Inode
	m     *mountFS
	attr  fuse.Attr
	items []item
}

var (
	_ fs.NodeOnAdder   = (*metaDir)(nil)
	_ fs.NodeGetattrer = (*metaDir)(nil)
)

func (d *metaDir) Getattr(_ context.Context, _ fs.FileHandle, out *fuse.AttrOut) syscall.Errno {
	out.Attr = d.attr
	return 0
}

// OnAdd adds d's items; a directory item's node adds its own in turn.
func (d *metaDir) OnAdd(ctx context.Context) {
	for _, it := range d.items {
		var node fs.InodeEmbedder
		mode := uint32(syscall.S_IFDIR)
		switch {
		case it.Snap != nil:
			node = &dirNode{m: d.m, attr: d.m.synthAttr(syscall.S_IFDIR|0o555, it.MTime), tree: it.Snap.Tree, root: it.Snap.Root}
		case it.Link != "":
			attr := d.m.synthAttr(syscall.S_IFLNK|0o777, it.MTime)
			attr.Size = uint64(len(it.Link))
			node, mode = &linkNode{attr: attr, target: it.Link}, syscall.S_IFLNK
		default:
			node = &metaDir{m: d.m, attr: d.m.synthAttr(syscall.S_IFDIR|0o555, it.MTime), items: it.Children}
		}
		d.AddChild(it.Name, d.NewPersistentInode(ctx, node, fs.StableAttr{Mode: mode}), false)
	}
}
