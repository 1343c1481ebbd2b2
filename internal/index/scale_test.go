//go:build scale

package index

import (
	"math/rand/v2"
	"os"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"
)

// The scale tier (make scale, build tag "scale"): ten million blobs into the
// in-memory index, inserted and looked up, with the process's peak resident set
// (VmHWM in /proc/self/status) held to CAIRN_SCALE_MAX_MIB, 256 MiB by default.

// peakRSS returns the process's peak resident set in bytes, VmHWM of /proc/self/status.
func peakRSS(t *testing.T) uint64 {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		t.Skipf("no /proc/self/status: %v", err)
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			kib, err := strconv.ParseUint(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
			if err != nil {
				t.Fatalf("VmHWM %q: %v", v, err)
			}
			return kib << 10
		}
	}
	t.Skip("no VmHWM in /proc/self/status")
	return 0
}

func scaleLimit() uint64 {
	if v, err := strconv.ParseUint(os.Getenv("CAIRN_SCALE_MAX_MIB"), 10, 64); err == nil {
		return v << 20
	}
	return 256 << 20
}

func TestScaleIndex10M(t *testing.T) {
	const packs, perPack = 100_000, 100
	r := rand.New(rand.NewPCG(1, 2))
	p := Pack{Blobs: make([]Blob, perPack)}
	start := time.Now()
	ix := New(SpillDir(t.TempDir()))
	t.Cleanup(func() {
		if err := ix.Close(); err != nil {
			t.Error(err)
		}
	})
	for range packs {
		synthPack(r, &p)
		if err := ix.AddPack(p); err != nil {
			t.Fatal(err)
		}
	}
	built := time.Since(start)
	// Look every blob up again: the same seed draws the same packs.
	r = rand.New(rand.NewPCG(1, 2))
	start = time.Now()
	for range packs {
		synthPack(r, &p)
		for _, b := range p.Blobs {
			if loc, ok := ix.Lookup(b.Type, b.ID); !ok || loc.Offset != b.Offset || loc.Length != b.Length {
				t.Fatalf("blob %s: lookup gave %+v, %v", b.ID, loc, ok)
			}
		}
	}
	looked := time.Since(start)
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	peak := peakRSS(t)
	t.Logf("%d blobs: insert %.1fs, lookup %.1fs; heap in use %.1f MiB, peak RSS (VmHWM) %.1f MiB",
		ix.Len(), built.Seconds(), looked.Seconds(), float64(m.HeapInuse)/(1<<20), float64(peak)/(1<<20))
	runtime.KeepAlive(ix)
	if limit := scaleLimit(); peak > limit {
		t.Errorf("peak RSS %.1f MiB over the %d MiB limit (%.2f×)", float64(peak)/(1<<20), limit>>20, float64(peak)/float64(limit))
	}
}
