package fsys

import (
	"bytes"
	"io"
	"os"
	"path/filepath"
	"sync/atomic"
	"testing"
	"testing/iotest"
)

// sparseFile makes a file of size bytes with data written at the given offsets and
// holes elsewhere, and returns its content.
func sparseFile(t *testing.T, size int64, regions map[int64]int) (string, []byte) {
	t.Helper()
	p := filepath.Join(t.TempDir(), "sparse")
	f, err := os.Create(p)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if err := f.Truncate(size); err != nil {
		t.Fatal(err)
	}
	want := make([]byte, size)
	for off, n := range regions {
		data := bytes.Repeat([]byte{byte(off%251) + 1}, n)
		if _, err := f.WriteAt(data, off); err != nil {
			t.Fatal(err)
		}
		copy(want[off:], data)
	}
	return p, want
}

func openExtents(t *testing.T, p string, read *atomic.Int64) *ExtentReader {
	t.Helper()
	f, err := os.Open(p)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	info, err := Fstat(f)
	if err != nil {
		t.Fatal(err)
	}
	return NewExtentReader(f, info.Size, read)
}

func TestExtentReaderServesHolesWithoutReading(t *testing.T) {
	const size = 8 << 20
	cases := map[string]map[int64]int{
		"data at both ends": {0: 5000, size - 3000: 3000},
		"trailing hole":     {1<<20 + 17: 10000, 5 << 20: 1},
		"leading hole":      {6<<20 + 4095: 2},
		"all hole":          {},
	}
	for name, regions := range cases {
		p, want := sparseFile(t, size, regions)
		var read atomic.Int64
		got, err := io.ReadAll(openExtents(t, p, &read))
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if !bytes.Equal(got, want) {
			t.Errorf("%s: content differs from the file's", name)
		}
		if read.Load() > 1<<20 {
			t.Errorf("%s: read %d bytes from the disk for %d of data", name, read.Load(), len(regions))
		}
	}
}

// Reads of any size serve the file's bytes.
func TestExtentReaderContract(t *testing.T) {
	p, want := sparseFile(t, 64<<10, map[int64]int{100: 5000, 40 << 10: 3})
	if err := iotest.TestReader(openExtents(t, p, nil), want); err != nil {
		t.Fatal(err)
	}
}

// Without extent information (SEEK_DATA unsupported) every byte is read plainly.
func TestExtentReaderPlain(t *testing.T) {
	p, want := sparseFile(t, 3<<20, map[int64]int{1 << 20: 100})
	var read atomic.Int64
	r := openExtents(t, p, &read)
	r.plain = true
	got, err := io.ReadAll(r)
	if err != nil || !bytes.Equal(got, want) || read.Load() != int64(len(want)) {
		t.Fatalf("plain read: err %v, equal %v, read %d of %d", err, bytes.Equal(got, want), read.Load(), len(want))
	}
}

// A file that grew after it was opened is read to its new end, so that a caller who
// compares what it read with the size it saw notices the change.
func TestExtentReaderSeesGrowth(t *testing.T) {
	p, want := sparseFile(t, 2<<20, map[int64]int{0: 10})
	r := openExtents(t, p, nil)
	f, err := os.OpenFile(p, os.O_WRONLY|os.O_APPEND, 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.Write([]byte("more")); err != nil {
		t.Fatal(err)
	}
	f.Close()
	got, err := io.ReadAll(r)
	if err != nil || !bytes.Equal(got, append(want, "more"...)) {
		t.Fatalf("grown file: err %v, read %d bytes, want %d", err, len(got), len(want)+4)
	}
}
