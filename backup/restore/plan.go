package restore

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"

	"github.com/cairn-backup/cairn/internal/digest"
	"github.com/cairn-backup/cairn/internal/repo"
	"github.com/cairn-backup/cairn/manifest"
)

// plan is everything a run restores, listed before anything is written.
type plan struct {
	root   *dirNode    // the target directory itself
	dirs   []*dirNode  // parents before children
	files  []*fileNode // regular files; the first name of each hard-linked file
	others []*otherNode
}

// meta is what every entry restores besides its content.
type meta struct {
	mode     uint32
	uid, gid uint32
	mtime    int64
	xattrs   []manifest.Xattr
}

func metaOf(e *manifest.Entry) meta {
	return meta{mode: e.Mode, uid: e.UID, gid: e.GID, mtime: e.MTime, xattrs: e.Xattrs}
}

// dirNode is a directory to restore, or the target (parent nil, meta unused).
type dirNode struct {
	parent   *dirNode
	name     string
	path     string // as backed up
	meta     meta
	depth    int
	names    []string // every name the snapshot has in it, sorted: what Delete keeps
	listed   bool     // names is complete: the node was read (else nothing is deleted)
	restored bool     // inside what is restored: Delete may act in it
	fresh    bool     // created by this run, so nothing else is in it
	newGID   int64    // the group a file created in a fresh d gets
	failed   bool     // could not be made: nothing is restored in it (reported once)
}

// fileNode is a regular file, with the other names it is hard-linked under.
// A restore holds one for every file it writes, so it is kept small: its path is
// made when needed.
type fileNode struct {
	dir     *dirNode
	name    string
	meta    meta
	size    int64
	content digest.ID
	chunks  []manifest.Chunk
	links   *linkName // the other names, a list
	sparse  bool
	act     action

	w fileWrite // the state of its temporary file while it is written
}

// path is the file's path as backed up.
func (f *fileNode) path() string { return f.dir.path + "/" + f.name }

type linkName struct {
	dir        *dirNode
	name, path string
	next       *linkName
}

// addLink appends another name of f to its list.
func (f *fileNode) addLink(l *linkName) {
	at := &f.links
	for *at != nil {
		at = &(*at).next
	}
	*at = l
}

// otherNode is a symlink, FIFO or device.
type otherNode struct {
	dir    *dirNode
	name   string
	path   string
	typ    manifest.Type
	meta   meta
	target string
	rdev   uint64
	act    action
}

// action is what the check of the target decided for an entry.
type action uint8

const (
	actWrite     action = iota // create or replace it
	actUnchanged               // it is already there as the snapshot has it
	actKeep                    // something is there and Never keeps it
	actSkip                    // not restored (a problem was reported)
)

type planner struct {
	e     *run
	p     *plan
	links map[[2]uint64]*fileNode
}

// plan walks the manifest from the restored path down and lists every entry.
func (e *run) plan(ctx context.Context, snap repo.Snapshot) (*plan, error) {
	pl := &planner{e: e, p: &plan{}, links: map[[2]uint64]*fileNode{}}
	sub := strings.TrimSuffix(e.opts.Path, "/")
	if sub == "" {
		pl.p.root = &dirNode{path: "", restored: true}
		if _, err := pl.dir(ctx, pl.p.root, snap.Tree, snap.Root, false); err != nil {
			return nil, err
		}
		return pl.p, nil
	}
	if !strings.HasPrefix(sub, "/") {
		return nil, fmt.Errorf("restore path %q: not absolute", e.opts.Path)
	}
	entry, err := find(ctx, e.r, snap, sub)
	if err != nil {
		return nil, err
	}
	if entry.Type == manifest.Dir {
		// As restic does: the directory's contents land in the target itself, so
		// "restore latest:/home/u --target /home/u" puts things back where they were.
		pl.p.root = &dirNode{path: sub, restored: true}
		if _, err := pl.dir(ctx, pl.p.root, entry.Subtree, entry.Content, false); err != nil {
			return nil, err
		}
		return pl.p, nil
	}
	parent := sub[:strings.LastIndexByte(sub, '/')]
	pl.p.root = &dirNode{path: parent, listed: true, names: []string{entry.Name}}
	if _, err := pl.entry(ctx, pl.p.root, entry, false); err != nil {
		return nil, err
	}
	return pl.p, nil
}

// find returns the entry at an absolute path of the snapshot.
func find(ctx context.Context, r *repo.Repo, snap repo.Snapshot, sub string) (*manifest.Entry, error) {
	tree, root := snap.Tree, snap.Root
	parts := strings.Split(sub[1:], "/")
	for i, name := range parts {
		n, err := manifest.ReadDir(ctx, r, tree, root)
		if err != nil {
			return nil, fmt.Errorf("restore path %s: %w", sub, err)
		}
		j := sort.Search(len(n.Entries), func(j int) bool { return n.Entries[j].Name >= name })
		if j == len(n.Entries) || n.Entries[j].Name != name {
			return nil, fmt.Errorf("restore path %s: not in snapshot %s", sub, snap.ID.Short())
		}
		e := &n.Entries[j]
		if i == len(parts)-1 {
			return e, nil
		}
		if e.Type != manifest.Dir {
			return nil, fmt.Errorf("restore path %s: %s is a %s", sub, "/"+strings.Join(parts[:i+1], "/"), e.Type)
		}
		tree, root = e.Subtree, e.Content
	}
	return nil, fmt.Errorf("restore path %s: not in snapshot", sub) // unreachable: parts is never empty
}

// dir lists a directory's entries. A node that cannot be read is reported and its
// directory restored empty. It reports whether anything in it is restored.
func (pl *planner) dir(ctx context.Context, d *dirNode, blob, root digest.ID, inside bool) (bool, error) {
	if d.depth > manifest.MaxDepth {
		pl.e.problem(d.path, fmt.Errorf("nested deeper than %d: %w", manifest.MaxDepth, manifest.ErrCorrupt))
		return true, nil
	}
	n, err := manifest.ReadDir(ctx, pl.e.r, blob, root)
	if ctx.Err() != nil {
		return false, ctx.Err()
	}
	if err != nil {
		pl.e.problem(showPath(d.path), fmt.Errorf("directory contents not restored: %w", err))
		return true, nil
	}
	d.names, d.listed = make([]string, 0, len(n.Entries)), true
	kept := false
	for i := range n.Entries {
		ce := &n.Entries[i]
		if i > 0 && ce.Name <= n.Entries[i-1].Name {
			pl.e.problem(d.path+"/"+ce.Name, fmt.Errorf("name %q out of order or repeated: %w", ce.Name, manifest.ErrCorrupt))
			continue
		}
		d.names = append(d.names, ce.Name)
		k, err := pl.entry(ctx, d, ce, inside)
		if err != nil {
			return false, err
		}
		kept = kept || k
	}
	return kept, nil
}

// entry lists one entry (and, for a directory, everything in it) unless it is
// excluded or not included, and reports whether it is restored.
func (pl *planner) entry(ctx context.Context, d *dirNode, ce *manifest.Entry, inside bool) (bool, error) {
	path := d.path + "/" + ce.Name
	if !manifest.ValidName(ce.Name) {
		pl.e.problem(showPath(path), fmt.Errorf("invalid name %q: not restored: %w", ce.Name, manifest.ErrCorrupt))
		return false, nil
	}
	isDir := ce.Type == manifest.Dir
	if pl.e.sel.excluded(path, ce.Name, isDir) {
		return false, nil
	}
	in := inside || pl.e.sel.included(path, ce.Name, isDir)
	if isDir {
		return pl.subdir(ctx, d, ce, path, in)
	}
	if !in {
		return false, nil
	}
	switch ce.Type {
	case manifest.File:
		pl.file(ctx, d, ce, path)
	case manifest.Socket:
		pl.e.note(path, errors.New("socket not restored (a socket is made by the program that listens on it)"))
		return false, nil
	case manifest.CharDev, manifest.BlockDev:
		if !pl.e.opts.Special {
			pl.e.note(path, errors.New("device not restored (only with --preserve-special, the default for root)"))
			return false, nil
		}
		fallthrough
	default:
		pl.p.others = append(pl.p.others, &otherNode{dir: d, name: ce.Name, path: path, typ: ce.Type,
			meta: metaOf(ce), target: ce.Target, rdev: ce.Rdev})
	}
	pl.e.prog.TotalFiles.Add(1)
	return true, nil
}

// subdir lists a directory and drops it again if nothing in it is restored and it is
// not itself included.
func (pl *planner) subdir(ctx context.Context, d *dirNode, ce *manifest.Entry, path string, in bool) (bool, error) {
	cd := &dirNode{parent: d, name: ce.Name, path: path, meta: metaOf(ce), depth: d.depth + 1, restored: true}
	nd, nf, no := len(pl.p.dirs), len(pl.p.files), len(pl.p.others)
	pl.p.dirs = append(pl.p.dirs, cd)
	kept, err := pl.dir(ctx, cd, ce.Subtree, ce.Content, in)
	if err != nil || kept || in {
		return true, err
	}
	pl.p.dirs, pl.p.files, pl.p.others = pl.p.dirs[:nd], pl.p.files[:nf], pl.p.others[:no]
	return false, nil
}

// file lists a regular file, or adds it as another name of a hard-linked file listed
// before: same device, inode and content.
func (pl *planner) file(ctx context.Context, d *dirNode, ce *manifest.Entry, path string) {
	key := [2]uint64{ce.Dev, ce.Inode}
	if ce.Nlink > 1 {
		if f := pl.links[key]; f != nil && f.content == ce.Content && f.size == int64(ce.Size) {
			f.addLink(&linkName{dir: d, name: ce.Name, path: path})
			return
		}
	}
	chunks, err := manifest.ReadChunks(ctx, pl.e.r, ce)
	if err != nil {
		pl.e.problem(path, err)
		return
	}
	f := &fileNode{dir: d, name: ce.Name, meta: metaOf(ce), size: int64(ce.Size),
		content: ce.Content, chunks: chunks}
	switch pl.e.opts.Sparse {
	case SparseAlways:
		f.sparse = true
	case SparseAuto:
		f.sparse = ce.Sparse
	}
	pl.p.files = append(pl.p.files, f)
	pl.e.prog.TotalBytes.Add(f.size)
	if ce.Nlink > 1 {
		pl.links[key] = f
	}
}

// showPath names the top directory "/" in messages.
func showPath(p string) string {
	if p == "" {
		return "/"
	}
	return p
}
