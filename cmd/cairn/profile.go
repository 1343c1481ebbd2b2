package main

import (
	"os"
	"runtime"
	"runtime/pprof"
)

// startProfile writes CPU and heap profiles when CAIRN_PROFILE names a file prefix:
// "Profile before optimising" needs profiles of real runs, not only of benchmarks.
func startProfile() func() {
	prefix := os.Getenv("CAIRN_PROFILE")
	if prefix == "" {
		return func() {}
	}
	cpu, err := os.Create(prefix + ".cpu")
	if err != nil {
		return func() {}
	}
	if err := pprof.StartCPUProfile(cpu); err != nil {
		cpu.Close()
		return func() {}
	}
	return func() {
		pprof.StopCPUProfile()
		cpu.Close()
		if heap, err := os.Create(prefix + ".heap"); err == nil {
			runtime.GC()
			_ = pprof.Lookup("allocs").WriteTo(heap, 0)
			heap.Close()
		}
	}
}
