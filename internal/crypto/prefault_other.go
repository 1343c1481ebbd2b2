//go:build !linux

package crypto

// withPrefault runs fn; the pages are faulted in ahead on Linux only.
func withPrefault(_ int, fn func()) { fn() }
