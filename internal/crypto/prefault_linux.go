package crypto

import (
	"os"
	"runtime"
	"sync"
	"unsafe"

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
//
// Where the system hands out huge pages on request (transparent huge pages in
// "madvise" mode, the usual default), the range asks for them first: about 25 faults
// of 2 MiB instead of 12,000 of 4 KiB, which took the derivation from 0.24 s to
// 0.08–0.17 s on a 2-core virtual machine (docs/benchmarks.md, "Key derivation").
func withPrefault(n int, fn func()) {
	ran := false
	prefaultOnce.Do(func() {
		b := make([]byte, n+prefaultSlack)
		if hugeKDF {
			defer adviseHuge(b)()
		}
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

// hugeKDF is false only in the test that measures what huge pages save.
var hugeKDF = os.Getenv("CAIRN_TEST_NO_HUGE_KDF") == ""

// adviseHuge asks for huge pages over b and returns a func that withdraws the request
// once the derivation is done: the heap that later reuses the range keeps the
// system's default pages, so a sparse heap does not hold 2 MiB pages. Errors are
// ignored: without huge pages the derivation only takes longer.
func adviseHuge(b []byte) func() {
	if len(b) == 0 {
		return func() {}
	}
	_ = unix.Madvise(b, unix.MADV_HUGEPAGE)
	addr, size := uintptr(unsafe.Pointer(&b[0])), uintptr(len(b))
	return func() { _, _, _ = unix.Syscall(unix.SYS_MADVISE, addr, size, unix.MADV_NOHUGEPAGE) }
}
