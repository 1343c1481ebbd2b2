package main

import (
	"runtime/debug"
	"testing"
)

func gcPercent() int {
	p := debug.SetGCPercent(100)
	debug.SetGCPercent(p)
	return p
}

func TestLowerGCUnlessGOGCIsSet(t *testing.T) {
	before := gcPercent()
	t.Setenv("GOGC", "")
	undo := lowerGC()
	if p := gcPercent(); p != lowGCPercent {
		t.Errorf("GC percent %d during the run, want %d", p, lowGCPercent)
	}
	undo()
	if p := gcPercent(); p != before {
		t.Errorf("GC percent %d after the run, want %d back", p, before)
	}
	t.Setenv("GOGC", "200")
	defer lowerGC()()
	if p := gcPercent(); p != before {
		t.Errorf("GC percent %d with GOGC set, want it left at %d", p, before)
	}
}
