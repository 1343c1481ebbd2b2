package restore

import (
	"math/bits"
	"sync"
)

// Sealed blobs are read into recycled buffers, one pool per power-of-two size from
// 4 KiB to 32 MiB (above the largest sealed blob): a restore reads every blob once,
// and fresh buffers each time cost page faults and garbage collection.
const (
	minClass = 12
	maxClass = 25
)

var bufPools [maxClass + 1]sync.Pool

func sizeClass(n int) int {
	if n <= 1<<minClass {
		return minClass
	}
	return bits.Len(uint(n - 1))
}

// alloc returns a buffer of n bytes, recycled when one is free.
func alloc(n int) []byte {
	c := sizeClass(n)
	if c > maxClass {
		return make([]byte, n)
	}
	if b, ok := bufPools[c].Get().(*[]byte); ok {
		return (*b)[:n]
	}
	return make([]byte, n, 1<<c)
}

// free gives back a buffer from alloc once nothing refers to it any more.
func free(b []byte) {
	c := sizeClass(cap(b))
	if c <= maxClass && cap(b) == 1<<c {
		b = b[:0]
		bufPools[c].Put(&b)
	}
}
