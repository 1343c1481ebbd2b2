//go:build unix

package verify

import "golang.org/x/sys/unix"

// newPackBuffer returns a buffer for whole packs outside the garbage-collected heap:
// two packs of 16 MiB held for the whole run would otherwise count as live heap, and
// the collector would let garbage grow as large again before each cycle. The buffer
// is given back by freePackBuffer, which must come after its last use.
func newPackBuffer(n int64) []byte {
	b, err := unix.Mmap(-1, 0, int(n), unix.PROT_READ|unix.PROT_WRITE, unix.MAP_ANON|unix.MAP_PRIVATE)
	if err != nil {
		return make([]byte, 0, n)
	}
	return b[:0]
}

func freePackBuffer(b []byte) {
	_ = unix.Munmap(b[:cap(b)])
}
