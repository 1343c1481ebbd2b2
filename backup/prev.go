package backup

import (
	"context"
	"sort"
	"sync"

	"github.com/cairn-backup/cairn/manifest"
)

// prevRef finds the parent snapshot's entry for a path when it is first needed. A
// directory is listed and described before its parent entry is needed, so that this
// work overlaps with loading the index and the parent's nodes instead of waiting for
// them.
type prevRef struct {
	once  sync.Once
	find  func() *manifest.Entry
	entry *manifest.Entry
}

func (p *prevRef) get() *manifest.Entry {
	p.once.Do(func() { p.entry, p.find = p.find(), nil })
	return p.entry
}

// nodeRef loads the parent snapshot's node for a directory when it is first needed.
type nodeRef struct {
	once sync.Once
	load func() *manifest.Node
	node *manifest.Node
}

func (n *nodeRef) get() *manifest.Node {
	n.once.Do(func() { n.node, n.load = n.load(), nil })
	return n.node
}

// child refers to the entry name of n's directory.
func (n *nodeRef) child(name string) *prevRef {
	return &prevRef{find: func() *manifest.Entry { return lookup(n.get(), name) }}
}

// nodeOf refers to the node of the directory whose entry p refers to.
func (b *run) nodeOf(ctx context.Context, p *prevRef) *nodeRef {
	return &nodeRef{load: func() *manifest.Node { return b.prevDir(ctx, p.get()) }}
}

// rootNode refers to the parent snapshot's top node; a damaged one only costs the reuse.
func (b *run) rootNode(ctx context.Context) *nodeRef {
	return &nodeRef{load: func() *manifest.Node {
		if b.parent == nil {
			return nil
		}
		n, err := manifest.ReadDir(ctx, b.store, b.parent.Tree, b.parent.Root)
		if err != nil {
			return nil
		}
		return n
	}}
}

// prevDir loads the parent snapshot's node for a directory, if it has one.
func (b *run) prevDir(ctx context.Context, prev *manifest.Entry) *manifest.Node {
	if prev == nil || prev.Type != manifest.Dir {
		return nil
	}
	n, err := manifest.ReadDir(ctx, b.store, prev.Subtree, prev.Content)
	if err != nil {
		return nil // a damaged parent node only costs the reuse of its files
	}
	return n
}

func lookup(n *manifest.Node, name string) *manifest.Entry {
	if n == nil {
		return nil
	}
	i := sort.Search(len(n.Entries), func(i int) bool { return n.Entries[i].Name >= name })
	if i < len(n.Entries) && n.Entries[i].Name == name {
		return &n.Entries[i]
	}
	return nil
}
