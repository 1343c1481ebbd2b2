//go:build unix

package verify

import (
	"runtime"
	"testing"
)

// TestPackBuffersOutsideTheHeap: the buffers that hold whole packs for --read-data do
// not count as live heap (the collector's goal would double them), are reused, and
// are given back at the end.
func TestPackBuffersOutsideTheHeap(t *testing.T) {
	const size = 16 << 20
	heap := func() int64 {
		runtime.GC()
		var m runtime.MemStats
		runtime.ReadMemStats(&m)
		return int64(m.HeapAlloc)
	}
	s := &bufStack{size: size}
	before := heap()
	a, b := s.get(size), s.get(size-1)
	a = append(a, make([]byte, size)...) // fills it in place
	if grown := heap() - before; grown > 1<<20 {
		t.Errorf("two pack buffers grew the heap by %d bytes", grown)
	}
	s.put(a)
	if c := s.get(100); &c[:1][0] != &a[0] {
		t.Error("a buffer given back was not reused")
	}
	s.put(b)
	if big := s.get(size + 1); cap(big) != size+1 {
		t.Errorf("an outsized pack got a buffer of %d bytes", cap(big))
	}
	s.free()
	if len(s.made) != 0 || len(s.bufs) != 0 {
		t.Error("buffers kept after free")
	}
}
