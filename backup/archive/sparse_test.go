package archive

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/cairn-backup/cairn/internal/fsys"
)

// A file with holes is read by its data extents, and the chunker sees the same bytes
// as from a plain read: the sparse file and a dense copy have the same content id, and
// the copy adds nothing.
func TestSparseFileSameChunksAsDense(t *testing.T) {
	const size = 24 << 20
	src := t.TempDir()
	sparse, dense := filepath.Join(src, "sparse"), filepath.Join(src, "dense")
	f, err := os.Create(sparse)
	if err != nil {
		t.Fatal(err)
	}
	data := make([]byte, size)
	for _, off := range []int64{3<<20 + 5, 11 << 20, size - 7} {
		copy(data[off:], "cairn keeps holes")
	}
	must(t, f.Truncate(size))
	for _, off := range []int64{3<<20 + 5, 11 << 20, size - 7} {
		_, err := f.WriteAt(data[off:min(off+17, size)], off)
		must(t, err)
	}
	must(t, f.Close())
	if info, _ := fsys.Lstat(sparse); !info.Sparse() {
		t.Skip("the test folder's file system made no holes")
	}

	e := newEnv(t)
	first, _ := e.backup(Options{Paths: []string{sparse}})
	if first.Stats.BytesRead > 1<<20 {
		t.Errorf("read %d bytes of a %d-byte file with 51 bytes of data", first.Stats.BytesRead, size)
	}
	must(t, os.WriteFile(dense, data, 0o644))
	second, r := e.backup(Options{Paths: []string{sparse, dense}})
	if second.Stats.BytesAdded != 0 {
		t.Errorf("dense copy added %d bytes, want 0", second.Stats.BytesAdded)
	}
	ids := subtree(t, r, second, snapshotTree(t, r, second.Snapshot).Tree, "")
	a, b := ids[sparse[1:]], ids[dense[1:]]
	if a.IsZero() || a != b {
		t.Errorf("sparse file content %s, dense copy %s: want the same", a.Short(), b.Short())
	}
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}
