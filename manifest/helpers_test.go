package manifest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"sync"

	"github.com/cairn-backup/cairn/internal/digest"
)

var errNotFound = errors.New("blob not found")

// memStore is an in-memory BlobSaver and BlobLoader that counts what it is asked.
type memStore struct {
	mu    sync.Mutex
	blobs map[digest.ID][]byte
	loads int // LoadTree calls
	added int // SaveTree calls that stored a blob not stored before
	sizes []int
}

func newMemStore() *memStore { return &memStore{blobs: map[digest.ID][]byte{}} }

func (m *memStore) SaveTree(_ context.Context, data []byte) (digest.ID, error) {
	id := digest.Of(data)
	m.mu.Lock()
	defer m.mu.Unlock()
	if _, ok := m.blobs[id]; !ok {
		m.blobs[id] = bytes.Clone(data)
		m.added++
		m.sizes = append(m.sizes, len(data))
	}
	return id, nil
}

func (m *memStore) LoadTree(_ context.Context, id digest.ID) ([]byte, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.loads++
	b, ok := m.blobs[id]
	if !ok {
		return nil, fmt.Errorf("%s: %w", id, errNotFound)
	}
	return b, nil
}

// put stores b under a chosen id, as a store that does not check ids would.
func (m *memStore) put(id digest.ID, b []byte) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.blobs[id] = b
}

func (m *memStore) counts() (loads, added int) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.loads, m.added
}

func (m *memStore) resetCounts() {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.loads, m.added, m.sizes = 0, 0, nil
}

// idOf returns a fixed id derived from s.
func idOf(s string) digest.ID { return digest.Of([]byte(s)) }

// fileEntry returns a file entry with inline chunks derived from name.
func fileEntry(name string, size uint32) Entry {
	e := Entry{Name: name, Type: File, Mode: 0o644, UID: 1000, GID: 1000, Size: uint64(size),
		MTime: 1_700_000_000_123_456_789, Nlink: 1, CTime: 1_700_000_001_000_000_000, Inode: 42, Dev: 2049}
	if size > 0 {
		e.Chunks = []Chunk{{ID: idOf("chunk " + name), Size: size}}
	}
	e.Content = ContentRoot(e.Chunks)
	return e
}

// sampleEntries returns one entry of each type with most fields set.
func sampleEntries() []Entry {
	f := fileEntry("file.txt", 1234)
	f.Xattrs = []Xattr{{Name: "user.a", Value: []byte("1")}, {Name: "user.b", Value: nil}}
	f.Sparse = true
	return []Entry{
		{Name: "blk", Type: BlockDev, Mode: 0o660, Rdev: 0x0801, MTime: -5, Nlink: 1},
		{Name: "chr", Type: CharDev, Mode: 0o666, Rdev: 0x0103, Nlink: 1},
		{Name: "dir", Type: Dir, Mode: 0o2755 | 0o1000, UID: 1, GID: 2, MTime: 7,
			Content: MerkleRoot(nil), Subtree: idOf("subtree"), CTime: 9, Inode: 1 << 40, Dev: 3},
		{Name: "fifo", Type: FIFO, Mode: 0o600, Nlink: 1},
		f,
		{Name: "link", Type: Symlink, Mode: 0o777, Target: "../target with spaces\n", Nlink: 1},
		{Name: "sock", Type: Socket, Mode: 0o755, UID: 1 << 31, GID: 1<<32 - 1, Nlink: 1},
	}
}
