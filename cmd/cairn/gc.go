package main

import (
	"os"
	"runtime/debug"
)

// lowGCPercent is the collector's goal, in percent of the live heap, for runs whose
// live heap is held for the whole run (a restore's plan of every file, the index)
// while their garbage is small and per blob: at Go's default of 100 the peak is twice
// the live heap; at 50 it is 1.5 times, for no CPU time that could be measured
// (docs/benchmarks.md).
const lowGCPercent = 50

// lowerGC sets the collector's goal to lowGCPercent unless GOGC is set, and returns
// what puts the previous goal back.
func lowerGC() func() {
	if os.Getenv("GOGC") != "" {
		return func() {}
	}
	old := debug.SetGCPercent(lowGCPercent)
	return func() { debug.SetGCPercent(old) }
}
