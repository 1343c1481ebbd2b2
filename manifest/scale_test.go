//go:build scale

package manifest

import (
	"context"
	"fmt"
	"os"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/cairn-backup/cairn/internal/digest"
)

// The scale tier (make scale, build tag "scale"): a manifest of ten million entries in
// one directory tree (10 × 1,000 directories of 1,000 files each), written bottom-up
// as a backup writes it, with the process's peak resident set (VmHWM in
// /proc/self/status) held to CAIRN_SCALE_MAX_MIB, 256 MiB by default.

// countingSaver stores nothing: it hashes each tree blob and counts it.
type countingSaver struct{ blobs, bytes int }

func (c *countingSaver) SaveTree(_ context.Context, data []byte) (digest.ID, error) {
	c.blobs++
	c.bytes += len(data)
	return digest.Of(data), nil
}

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

func TestScaleManifest10M(t *testing.T) {
	const tops, dirs, files = 10, 1000, 1000
	ctx := context.Background()
	s := &countingSaver{}
	start := time.Now()
	files1k := make([]Entry, files)
	subs := make([]Entry, dirs)
	top := make([]Entry, tops)
	n := 0
	for i := range tops {
		for j := range dirs {
			for k := range files1k {
				files1k[k] = fileEntry(fmt.Sprintf("f%04d", k), uint32(1+(i*dirs+j)*files+k))
				n++
			}
			root, blob, err := WriteDir(ctx, s, files1k)
			if err != nil {
				t.Fatal(err)
			}
			subs[j] = scaleDir(fmt.Sprintf("d%04d", j), root, blob)
		}
		root, blob, err := WriteDir(ctx, s, subs)
		if err != nil {
			t.Fatal(err)
		}
		top[i] = scaleDir(fmt.Sprintf("t%02d", i), root, blob)
	}
	if _, _, err := WriteDir(ctx, s, top); err != nil {
		t.Fatal(err)
	}
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	peak := peakRSS(t)
	t.Logf("%d files, %d tree blobs (%.1f MiB) in %.1fs; heap in use %.1f MiB, peak RSS (VmHWM) %.1f MiB",
		n, s.blobs, float64(s.bytes)/(1<<20), time.Since(start).Seconds(), float64(m.HeapInuse)/(1<<20), float64(peak)/(1<<20))
	limit := uint64(256 << 20)
	if v, err := strconv.ParseUint(os.Getenv("CAIRN_SCALE_MAX_MIB"), 10, 64); err == nil {
		limit = v << 20
	}
	if peak > limit {
		t.Errorf("peak RSS %.1f MiB over the %d MiB limit", float64(peak)/(1<<20), limit>>20)
	}
}

func scaleDir(name string, root, blob digest.ID) Entry {
	return Entry{Name: name, Type: Dir, Mode: 0o755, UID: 1000, GID: 1000,
		MTime: 1_700_000_000_000_000_000, Nlink: 2, Content: root, Subtree: blob}
}
