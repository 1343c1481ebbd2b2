package main

import (
	"context"
	"math"
	"os"
	"runtime/debug"
	"runtime/metrics"
	"time"

	"github.com/cairn-backup/cairn/backup/archive"
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

// A backup that reads (almost) nothing, an unchanged nightly, holds the index for the
// whole run and makes garbage per file (the parent's nodes, each directory's
// entries): with Go's default goal of twice the live heap, a million files peaked at
// 150 MB, and a hundred thousand collected some 25 times for a live heap of 8 MB.
// Such a run collects on a memory limit instead, which follows the live heap with a
// margin (half of it, as lowGCPercent, but at least unchangedMargin) and never goes
// below a floor: small runs hardly collect, and large ones peak near their live heap
// plus the margin. The margin trades memory for collections: at a million files
// (live heap ≈ 45 MB) 16 MiB collected 300 times, and 24, 32 and 40 MiB peaked at
// 82, 89 and 95 MB for about 23, 16 and 8 % more CPU than Go's default (145 MB). Once the backup reads file content it
// collects at lowGCPercent, without a limit: its live heap is then chunk buffers and
// compressor windows, and the lower goal keeps its peak near the key derivation's for
// about 5 % more CPU. An explicit GOGC or GOMEMLIMIT wins.
const (
	unchangedFloor  = 48 << 20 // the limit's floor; the key derivation alone took 46 MiB
	unchangedMargin = 32 << 20 // above the live heap, or half of it if more
	readingBytes    = 8 << 20  // content read before the run counts as reading
	gcTick          = 20 * time.Millisecond
)

// unchangedLimit is the memory limit of a backup that reads nothing, for a live heap
// of live bytes.
func unchangedLimit(live uint64) int64 {
	return max(unchangedFloor, int64(live)+max(unchangedMargin, int64(live/2)))
}

// backupGC sets the collector's goal for a backup, and moves it as the run goes on
// until ctx ends.
func backupGC(ctx context.Context, stats *archive.Progress) {
	if os.Getenv("GOGC") != "" || os.Getenv("GOMEMLIMIT") != "" {
		return
	}
	oldPercent, oldLimit := debug.SetGCPercent(-1), debug.SetMemoryLimit(unchangedFloor)
	live := []metrics.Sample{{Name: "/gc/heap/live:bytes"}}
	go func() {
		tick := time.NewTicker(gcTick)
		defer tick.Stop()
		for {
			select {
			case <-ctx.Done():
				debug.SetMemoryLimit(oldLimit)
				debug.SetGCPercent(oldPercent)
				return
			case <-tick.C:
			}
			if stats.BytesRead.Load() > readingBytes {
				debug.SetMemoryLimit(math.MaxInt64)
				debug.SetGCPercent(lowGCPercent)
				return
			}
			metrics.Read(live)
			if live[0].Value.Kind() == metrics.KindUint64 {
				debug.SetMemoryLimit(unchangedLimit(live[0].Value.Uint64()))
			}
		}
	}()
}
