package crypto

import (
	"runtime"
	"sync"

	"golang.org/x/sys/unix"
)

// prefaultSlack leaves room for small spans that argon2's setup may take from the
// start of the range before its large allocation.
const prefaultSlack = 1 << 20

// prefaultOnce: only the first derivation of a process finds a fresh heap, which make
// need not clear; later ones would fault the pages in while clearing them.
var prefaultOnce sync.Once

// withPrefault runs fn, which allocates about n bytes at once (argon2's working
// memory), with that memory already faulted in. Argon2 writes its memory once, so on
// small virtual machines much of a derivation is 16,384 page faults; one
// MADV_POPULATE_WRITE call maps the same pages in a kernel loop, measured a third
// faster. argon2 allocates internally, so this maps a range as large, frees it, and
// the page allocator (lowest address first) hands that range to fn. If it handed over
// another, the cost would be a collection, and twice the memory until derive returns
// it to the system.
func withPrefault(n int, fn func()) {
	ran := false
	prefaultOnce.Do(func() {
		b := make([]byte, n+prefaultSlack)
		if unix.Madvise(b, unix.MADV_POPULATE_WRITE) != nil {
			fn() // before Linux 5.14: b stays untouched and apart from fn's memory
			runtime.KeepAlive(b)
			ran = true
			return
		}
		b = nil
		runtime.GC() // frees the range before fn allocates
		fn()
		ran = true
	})
	if !ran {
		fn()
	}
}
