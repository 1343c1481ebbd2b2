package restore

import (
	"bytes"
	"context"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"

	"github.com/cairn-backup/cairn/backup/archive"
	"github.com/cairn-backup/cairn/internal/fsys"
)

// TestSparseFileReadByExtents backs up a file that is mostly holes: the backup reads
// only its data from the disk (the holes are zeros to the chunker, so ids and dedup do
// not change), and the restore gives back the same bytes with the holes as holes.
func TestSparseFileReadByExtents(t *testing.T) {
	const size = 96 << 20
	src := filepath.Join(t.TempDir(), "src")
	p := filepath.Join(src, "disk.img")
	regions := map[int64]int{0: 4096, 10<<20 + 123: 20000, 40 << 20: 1 << 20, size - 100: 100}
	want := writeRegions(t, p, size, regions)
	if info, err := fsys.Lstat(p); err != nil || !info.Sparse() {
		t.Skipf("the test folder's file system made no holes (%v)", err)
	}

	e := newEnv(t)
	res, err := archive.Run(context.Background(), e.open(), archive.Options{Paths: []string{src}, Host: "test-host"})
	if err != nil || len(res.Unreadable) > 0 {
		t.Fatalf("backup: %v %v", err, res.Unreadable)
	}
	if read := res.Stats.BytesRead; read > 4<<20 || res.Stats.Bytes != size {
		t.Errorf("backup read %d bytes of a %d-byte file with about 1 MiB of data", read, res.Stats.Bytes)
	}

	target := t.TempDir()
	e.mustRestore(res.Snapshot, Options{Target: target})
	out := under(target, p)
	got, err := os.ReadFile(out)
	if err != nil || !bytes.Equal(got, want) {
		t.Fatalf("restored file differs from the source (err %v, %d bytes)", err, len(got))
	}
	info, err := fsys.Lstat(out)
	if err != nil {
		t.Fatal(err)
	}
	if info.Blocks*512 > 8<<20 {
		t.Errorf("restored file takes %d bytes on disk for about 1 MiB of data", info.Blocks*512)
	}
}

// writeRegions makes a file of size bytes, random data at each region and holes
// elsewhere, and returns its content.
func writeRegions(t *testing.T, p string, size int64, regions map[int64]int) []byte {
	t.Helper()
	must(t, os.MkdirAll(filepath.Dir(p), 0o755))
	f, err := os.Create(p)
	must(t, err)
	defer f.Close()
	must(t, f.Truncate(size))
	rng := rand.New(rand.NewPCG(uint64(size), 7))
	want := make([]byte, size)
	for off, n := range regions {
		data := make([]byte, n)
		for i := range data {
			data[i] = byte(rng.Uint32())
		}
		_, err := f.WriteAt(data, off)
		must(t, err)
		copy(want[off:], data)
	}
	return want
}
