package verify

import (
	"context"
	"errors"

	"github.com/cairn-backup/cairn/internal/digest"
	"github.com/cairn-backup/cairn/internal/repo"
	"github.com/cairn-backup/cairn/manifest"
)

// mapper finds exactly the files and directories that bad blobs make unrestorable, in
// every snapshot. It first marks, once per distinct node, whether anything below it is
// bad, then walks each snapshot down the marked nodes only: healthy subtrees are never
// descended into twice.
type mapper struct {
	src        *treeSource
	rec        *recorder
	listsWrong map[digest.ID]string
	taint      map[digest.ID]bool        // node blob → something below it is bad
	listBad    map[digest.ID][]digest.ID // listKey → bad blobs of that file
	out        []Affected
}

func newMapper(w *walker) *mapper {
	return &mapper{src: w.src, rec: w.rec, listsWrong: w.badLists,
		taint: map[digest.ID]bool{}, listBad: map[digest.ID][]digest.ID{}}
}

func (m *mapper) snapshots(ctx context.Context, snaps []repo.Snapshot) error {
	for _, s := range snaps {
		if s.Tree.IsZero() {
			continue
		}
		top := &manifest.Entry{Type: manifest.Dir, Subtree: s.Tree, Content: s.Root}
		if err := m.dir(ctx, s, "", top, 0); err != nil {
			return err
		}
	}
	return nil
}

// dir reports what is bad under directory e, whose path is path ("" for the top).
func (m *mapper) dir(ctx context.Context, s repo.Snapshot, path string, e *manifest.Entry, depth int) error {
	bad, err := m.tainted(ctx, e, depth)
	if err != nil || !bad {
		return err
	}
	n, err := manifest.ReadDir(ctx, m.src, e.Subtree, e.Content)
	if err != nil {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		m.add(s, path, "dir", []digest.ID{e.Subtree})
		return nil
	}
	for i := range n.Entries {
		c := &n.Entries[i]
		p := path + "/" + c.Name
		switch c.Type {
		case manifest.Dir:
			err = m.dir(ctx, s, p, c, depth+1)
		case manifest.File:
			var blobs []digest.ID
			if blobs, err = m.fileBlobs(ctx, c); len(blobs) > 0 {
				m.add(s, p, "file", blobs)
			}
		}
		if err != nil {
			return err
		}
	}
	return nil
}

func (m *mapper) add(s repo.Snapshot, path, typ string, blobs []digest.ID) {
	if path == "" {
		path = "/"
	}
	m.out = append(m.out, Affected{Snapshot: s.ID, Time: s.Time, Host: s.Host, Path: path, Type: typ, Blobs: blobs})
}

// tainted reports whether anything under directory e is bad, once per node.
func (m *mapper) tainted(ctx context.Context, e *manifest.Entry, depth int) (bool, error) {
	if v, ok := m.taint[e.Subtree]; ok || e.Subtree.IsZero() || depth > manifest.MaxDepth {
		return v, nil
	}
	m.taint[e.Subtree] = false // a cycle cannot recurse forever
	n, err := manifest.ReadDir(ctx, m.src, e.Subtree, e.Content)
	if err != nil {
		// Unreadable (the storage kept failing) is no finding: not marked.
		m.taint[e.Subtree] = ctx.Err() == nil && !errors.Is(err, errUnreadable)
		return m.taint[e.Subtree], ctx.Err()
	}
	bad := false
	for i := 0; i < len(n.Entries) && !bad; i++ {
		c := &n.Entries[i]
		switch c.Type {
		case manifest.Dir:
			bad, err = m.tainted(ctx, c, depth+1)
		case manifest.File:
			var blobs []digest.ID
			blobs, err = m.fileBlobs(ctx, c)
			bad = len(blobs) > 0
		}
		if err != nil {
			return false, err
		}
	}
	m.taint[e.Subtree] = bad
	return bad, nil
}

// fileBlobs returns the bad blobs a file needs: chunks, or chunk-list nodes.
func (m *mapper) fileBlobs(ctx context.Context, e *manifest.Entry) ([]digest.ID, error) {
	if len(e.Lists) == 0 {
		return m.badChunks(e.Chunks, nil), nil
	}
	key := manifest.ListKey(e)
	if blobs, ok := m.listBad[key]; ok {
		return blobs, nil
	}
	blobs := m.badLists(e)
	if len(blobs) == 0 {
		chunks, err := manifest.ReadChunks(ctx, m.src, e)
		switch {
		case ctx.Err() != nil:
			return nil, ctx.Err()
		case errors.Is(err, errUnreadable):
			// the storage failed: nothing to conclude (reported as unreadable)
		case err != nil:
			if blobs = m.badLists(e); len(blobs) == 0 {
				blobs = e.Lists
			}
		default:
			blobs = m.badChunks(chunks, nil)
		}
	}
	m.listBad[key] = blobs
	return blobs, nil
}

// badLists returns the file's chunk-list nodes known bad; all of them if they load
// but do not match the file.
func (m *mapper) badLists(e *manifest.Entry) []digest.ID {
	var blobs []digest.ID
	for _, id := range e.Lists {
		if m.rec.isBad(repo.TreeBlob, id) {
			blobs = append(blobs, id)
		}
	}
	if _, bad := m.listsWrong[manifest.ListKey(e)]; bad && len(blobs) == 0 {
		blobs = e.Lists
	}
	return blobs
}

func (m *mapper) badChunks(chunks []manifest.Chunk, out []digest.ID) []digest.ID {
	for _, c := range chunks {
		if m.rec.isBad(repo.DataBlob, c.ID) {
			out = append(out, c.ID)
		}
	}
	return out
}
