package main

import (
	"context"
	"math"
	"runtime/debug"
	"testing"
	"time"

	"github.com/cairn-backup/cairn/backup/archive"
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

func TestUnchangedLimitFollowsTheLiveHeap(t *testing.T) {
	const mib = 1 << 20
	for _, c := range []struct {
		live uint64
		want int64
	}{
		{0, unchangedFloor},
		{8 * mib, unchangedFloor},                          // small runs: the floor, hardly a collection
		{40 * mib, 40*mib + unchangedMargin},               // a million files: the margin
		{400 * mib, 600 * mib},                             // ten million: half the live heap above it
		{unchangedFloor, unchangedFloor + unchangedMargin}, // never below the live heap
	} {
		if got := unchangedLimit(c.live); got != c.want {
			t.Errorf("unchangedLimit(%d MiB) = %d MiB, want %d MiB", c.live/mib, got/mib, c.want/mib)
		}
	}
}

func memoryLimit() int64 { return debug.SetMemoryLimit(-1) }

func TestBackupGCCollectsOnALimitUntilItReads(t *testing.T) {
	beforePercent, beforeLimit := gcPercent(), memoryLimit()
	t.Setenv("GOGC", "")
	t.Setenv("GOMEMLIMIT", "")
	ctx, cancel := context.WithCancel(context.Background())
	stats := &archive.Progress{}
	backupGC(ctx, stats)
	if p, l := gcPercent(), memoryLimit(); p != -1 || l < unchangedFloor || l == math.MaxInt64 {
		t.Errorf("unchanged run: GC percent %d, limit %d; want off and a limit of at least %d", p, l, unchangedFloor)
	}
	stats.BytesRead.Store(readingBytes + 1)
	deadline := time.Now().Add(5 * time.Second)
	for gcPercent() != lowGCPercent && time.Now().Before(deadline) {
		time.Sleep(gcTick)
	}
	if p, l := gcPercent(), memoryLimit(); p != lowGCPercent || l != math.MaxInt64 {
		t.Errorf("reading run: GC percent %d, limit %d; want %d and no limit", p, l, lowGCPercent)
	}
	cancel()
	debug.SetGCPercent(beforePercent)
	debug.SetMemoryLimit(beforeLimit)

	t.Setenv("GOGC", "200")
	backupGC(context.Background(), stats)
	if p, l := gcPercent(), memoryLimit(); p != beforePercent || l != beforeLimit {
		t.Errorf("GOGC set: GC percent %d, limit %d; want them left at %d, %d", p, l, beforePercent, beforeLimit)
	}
}
