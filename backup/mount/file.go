package mount

import (
	"context"
	"fmt"
	"sort"
	"sync"
	"syscall"

	"github.com/cairn-backup/cairn/internal/digest"
	"github.com/cairn-backup/cairn/manifest"
	"github.com/hanwen/go-fuse/v2/fs"
	"github.com/hanwen/go-fuse/v2/fuse"
)

// fileNode is a stored file. Its chunk list is read when it is first opened; its
// contents are read blob by blob, as asked, through the mount's blob cache.
type fileNode struct {
	fs.Inode
	m     *mountFS
	attr  fuse.Attr
	entry manifest.Entry

	mu     sync.Mutex
	chunks []manifest.Chunk
	ends   []uint64 // ends[i]: the file offset just past chunks[i]
	loaded bool
}

var (
	_ fs.NodeOpener    = (*fileNode)(nil)
	_ fs.NodeReader    = (*fileNode)(nil)
	_ fs.NodeGetattrer = (*fileNode)(nil)
)

func (f *fileNode) Getattr(_ context.Context, _ fs.FileHandle, out *fuse.AttrOut) syscall.Errno {
	out.Attr = f.attr
	return 0
}

// Open refuses writing and reads the chunk list. A snapshot never changes, so the
// kernel may keep what it read of the file in its page cache across opens.
func (f *fileNode) Open(ctx context.Context, flags uint32) (fs.FileHandle, uint32, syscall.Errno) {
	if flags&(syscall.O_WRONLY|syscall.O_RDWR|syscall.O_TRUNC|syscall.O_APPEND) != 0 {
		return nil, 0, syscall.EROFS
	}
	if _, _, errno := f.load(ctx); errno != 0 {
		return nil, 0, errno
	}
	return nil, fuse.FOPEN_KEEP_CACHE, 0
}

func (f *fileNode) load(ctx context.Context) ([]manifest.Chunk, []uint64, syscall.Errno) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.loaded {
		return f.chunks, f.ends, 0
	}
	chunks, err := manifest.ReadChunks(ctx, f.m.trees, &f.entry)
	if err != nil {
		return nil, nil, f.m.fail(fmt.Errorf("read %s: %w", f.Path(nil), err))
	}
	ends := make([]uint64, len(chunks))
	var pos uint64
	for i, c := range chunks {
		pos += uint64(c.Size)
		ends[i] = pos
	}
	f.chunks, f.ends, f.loaded = chunks, ends, true
	return chunks, ends, 0
}

// Read fills dest from offset off, blob after blob, and starts loading the blobs
// that come next, so that a sequential reader finds them ready.
func (f *fileNode) Read(ctx context.Context, _ fs.FileHandle, dest []byte, off int64) (fuse.ReadResult, syscall.Errno) {
	chunks, ends, errno := f.load(ctx)
	if errno != 0 {
		return nil, errno
	}
	if off < 0 {
		return nil, syscall.EINVAL
	}
	pos := uint64(off)
	i := sort.Search(len(ends), func(i int) bool { return ends[i] > pos })
	n := 0
	for ; n < len(dest) && i < len(chunks); i++ {
		data, err := f.m.cache.get(ctx, chunks[i].ID)
		if err == nil && len(data) != int(chunks[i].Size) {
			err = fmt.Errorf("blob %s holds %d bytes, the file's chunk %d: %w", chunks[i].ID.Short(), len(data), chunks[i].Size, manifest.ErrCorrupt)
		}
		if err != nil {
			if ctx.Err() != nil {
				return nil, syscall.EINTR
			}
			return nil, f.m.fail(fmt.Errorf("read %s at offset %d: %w", f.Path(nil), pos+uint64(n), err))
		}
		start := ends[i] - uint64(chunks[i].Size)
		n += copy(dest[n:], data[pos+uint64(n)-start:])
	}
	f.m.cache.prefetch(next(chunks, i, f.m.readAhead))
	return fuse.ReadResultData(dest[:n]), 0
}

// next returns the ids of up to n chunks from index i on.
func next(chunks []manifest.Chunk, i, n int) []digest.ID {
	var ids []digest.ID
	for ; i < len(chunks) && len(ids) < n; i++ {
		ids = append(ids, chunks[i].ID)
	}
	return ids
}
