package archive

import (
	"context"
	"sort"
	"sync"

	"github.com/cairn-backup/cairn/manifest"
)

// lazy computes a value of the parent snapshot when it is first needed. A directory
// is listed and described before its parent's entry and node are needed, so that this
// work overlaps with loading the index and the parent's nodes instead of waiting for
// them.
type lazy[T any] struct {
	once sync.Once
	load func() T
	v    T
}

func (l *lazy[T]) get() T {
	l.once.Do(func() { l.v, l.load = l.load(), nil })
	return l.v
}

// prevRef is the parent snapshot's entry for a path; nodeRef its node for a directory.
type (
	prevRef = lazy[*manifest.Entry]
	nodeRef = lazy[*manifest.Node]
)

// childOf refers to the entry name of n's directory.
func childOf(n *nodeRef, name string) *prevRef {
	return &prevRef{load: func() *manifest.Entry { return lookup(n.get(), name) }}
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
