// Package dump writes what a snapshot holds at one path to a stream, as restic's dump:
// a file's content as it is, a directory (or the whole snapshot) as a tar or zip
// archive with modes, times and symlinks. Contents are read a window at a time through
// the repository's planned reads, so memory stays bounded whatever the sizes.
package dump

import (
	"context"
	"errors"
	"fmt"
	"io"
	"path"
	"strings"

	"github.com/cairn-backup/cairn/internal/digest"
	"github.com/cairn-backup/cairn/internal/repo"
	"github.com/cairn-backup/cairn/manifest"
)

// Format is the archive a directory is written as.
type Format string

// The archive formats.
const (
	Tar Format = "tar"
	Zip Format = "zip"
)

// ErrNotFound reports a path the snapshot does not hold.
var ErrNotFound = errors.New("path not found in snapshot")

// Options tune a dump.
type Options struct {
	Format  Format // for a directory; "" means Tar
	Window  int64  // plaintext bytes read ahead; 0 means DefaultWindow
	Workers int    // packs read at once; 0 means 4
}

// Result says what was written.
type Result struct {
	Dir     bool  // an archive of a directory, not one file's content
	Entries int   // entries in the archive (1 for a file)
	Bytes   int64 // file content bytes written
}

// Run writes what snapshot s holds at p (an absolute path in the snapshot, "/" for
// everything) to w: a file's content, or the directory as an archive.
func Run(ctx context.Context, r *repo.Repo, s repo.Snapshot, p string, opts Options, w io.Writer) (*Result, error) {
	// As restore: a blob stored again after its pack was lost is read from its new
	// pack, and a prune sees that a reader is at work.
	r.PresentPacksOnly()
	defer r.Reading(ctx, "dump")()
	if err := r.LoadIndex(ctx); err != nil {
		return nil, err
	}
	rel := strings.Trim(path.Clean("/"+p), "/")
	c := &content{r: r, window: opts.Window, workers: opts.Workers, zeros: map[uint32]digest.ID{}}
	if c.window <= 0 {
		c.window = DefaultWindow
	}
	if c.workers <= 0 {
		c.workers = 4
	}
	tree, root := s.Tree, s.Root
	if rel != "" {
		e, err := Lookup(ctx, r, s, rel)
		if err != nil {
			return nil, err
		}
		if e.Type != manifest.Dir {
			if e.Type != manifest.File {
				return nil, fmt.Errorf("dump %q: a %s has no content; dump its directory instead", p, e.Type)
			}
			n, err := c.copyFile(ctx, e, w)
			return &Result{Entries: 1, Bytes: n}, err
		}
		tree, root = e.Subtree, e.Content
	}
	format := opts.Format
	if format == "" {
		format = Tar
	}
	a, err := newArchive(format, w)
	if err != nil {
		return nil, err
	}
	res := &Result{Dir: true}
	err = manifest.Walk(ctx, r, tree, root, func(sub string, e *manifest.Entry) error {
		name := sub
		if rel != "" {
			name = rel + "/" + sub
		}
		if !manifest.ValidName(e.Name) {
			return fmt.Errorf("dump: entry %q has a name an archive cannot hold: %w", name, manifest.ErrCorrupt)
		}
		n, err := a.add(ctx, c, name, e)
		res.Entries++
		res.Bytes += n
		return err
	})
	if err != nil {
		return res, err
	}
	return res, a.close()
}

// Lookup returns the entry at rel (a path relative to the snapshot's top, "/"-joined).
func Lookup(ctx context.Context, r *repo.Repo, s repo.Snapshot, rel string) (*manifest.Entry, error) {
	tree, root := s.Tree, s.Root
	parts := strings.Split(rel, "/")
	for i, name := range parts {
		if tree.IsZero() {
			break
		}
		n, err := manifest.ReadDir(ctx, r, tree, root)
		if err != nil {
			return nil, fmt.Errorf("read directory /%s: %w", strings.Join(parts[:i], "/"), err)
		}
		e := findName(n.Entries, name)
		if e == nil {
			break
		}
		if i == len(parts)-1 {
			return e, nil
		}
		if e.Type != manifest.Dir {
			break
		}
		tree, root = e.Subtree, e.Content
	}
	return nil, fmt.Errorf("%w: /%s", ErrNotFound, rel)
}

func findName(entries []manifest.Entry, name string) *manifest.Entry {
	for i := range entries {
		if entries[i].Name == name {
			return &entries[i]
		}
	}
	return nil
}
