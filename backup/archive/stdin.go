package archive

import (
	"context"
	"fmt"
	"io"
	"math"
	"os"

	"github.com/cairn-backup/cairn/internal/digest"
	"github.com/cairn-backup/cairn/manifest"
)

// DefaultStdinName is the file name a stream is stored under when none is given.
const DefaultStdinName = "stdin"

// stdinPaths checks the name a stream is stored under and returns the snapshot's
// paths: the file at the root, as restic records it.
func stdinPaths(name string) ([]string, error) {
	if name == "" {
		name = DefaultStdinName
	}
	if !manifest.ValidName(name) {
		return nil, fmt.Errorf("stdin file name %q: want one path component (no '/')", name)
	}
	return []string{"/" + name}, nil
}

// stdinTop stores the stream as the snapshot's one file. It is read once, through the
// chunker, with the chunk workers' buffers only: memory does not grow with its length.
// A read error (a dump command that failed, say) ends the run without a snapshot.
func (b *run) stdinTop(ctx context.Context) (root, tree digest.ID, err error) {
	root, tree, err = b.stdinTree(ctx)
	if werr := b.wait(); err == nil {
		err = werr
	}
	if err != nil {
		return root, tree, b.cause(err)
	}
	return root, tree, nil
}

func (b *run) stdinTree(ctx context.Context) (root, tree digest.ID, err error) {
	now := b.opts.now().UnixNano()
	uid, gid := uint32(os.Getuid()), uint32(os.Getgid()) //nolint:gosec // ids fit
	e := manifest.Entry{Name: b.opts.Paths[0][1:], Type: manifest.File, Mode: 0o600,
		UID: uid, GID: gid, MTime: now, CTime: now, Nlink: 1}
	b.stats.Files.Add(1)
	b.stats.NewFiles.Add(1)
	// The length is not known: a size past any stream takes the chunker's path.
	chunks, n, err := b.chunkFile(ctx, stdinReader{countingReader{b.opts.Stdin, &b.stats.BytesRead}, &b.stats.Bytes}, math.MaxInt64)
	if err != nil {
		return root, tree, fmt.Errorf("read %s: %w", e.Name, err)
	}
	e.Size = uint64(n)
	if b.opts.Changed != nil {
		b.opts.Changed(b.opts.Paths[0], true, n)
	}
	if err := manifest.WriteChunks(ctx, b.store, &e, chunks); err != nil {
		return root, tree, b.fail(err)
	}
	dir := manifest.Entry{Type: manifest.Dir, Mode: 0o755, UID: uid, GID: gid}
	b.stats.Dirs.Add(1)
	dir, err = b.writeDir(ctx, dir, []manifest.Entry{e})
	return dir.Content, dir.Subtree, err
}

// stdinReader counts what it reads as the size of the file too: a stream has no size
// to look up first.
type stdinReader struct {
	rd   io.Reader
	size interface{ Add(int64) int64 }
}

func (s stdinReader) Read(p []byte) (int, error) {
	n, err := s.rd.Read(p)
	s.size.Add(int64(n))
	return n, err
}
