package manifest

import (
	"context"
	"fmt"
	"testing"
)

// BenchmarkReadDir reads a directory of 1,000 small files, as a backup reads each
// directory of its parent snapshot: load, decode, and check the Merkle root.
func BenchmarkReadDir(b *testing.B) {
	entries := make([]Entry, 1000)
	for i := range entries {
		entries[i] = fileEntry(fmt.Sprintf("f%04d", i), uint32(100+i))
	}
	s := newMemStore()
	root, blob, err := WriteDir(context.Background(), s, entries)
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := ReadDir(context.Background(), s, blob, root); err != nil {
			b.Fatal(err)
		}
	}
}
