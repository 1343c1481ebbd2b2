package progress

import (
	"bytes"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// syncBuffer is a bytes.Buffer the bar's ticker may write while the test reads.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// A bar is drawn while work goes on, whether the total is known from the start, learnt
// later, or never known (a spinner); it is cleared when the command ends.
func TestBarDrawsWhileWorking(t *testing.T) {
	for _, c := range []struct {
		name  string
		total func(done int64) int64
	}{
		{"known", func(int64) int64 { return 1 << 30 }},
		{"learnt later", func(done int64) int64 { return map[bool]int64{true: 0, false: 1 << 30}[done < 3<<20] }},
		{"unknown", func(int64) int64 { return 0 }},
	} {
		t.Run(c.name, func(t *testing.T) {
			var done atomic.Int64
			w := &syncBuffer{}
			bar := Start(w, true, "restore", func() Sample {
				d := done.Add(1 << 20)
				return Sample{Done: d, Total: c.total(d), Detail: "12 files"}
			})
			deadline := time.Now().Add(5 * time.Second)
			for !strings.Contains(w.String(), "12 files") && time.Now().Before(deadline) {
				time.Sleep(20 * time.Millisecond)
			}
			bar.Stop()
			if !strings.Contains(w.String(), "restore 12 files") {
				t.Fatalf("no bar drawn in 5 s; wrote %q", w.String())
			}
		})
	}
}

func TestDisabledBarWritesNothing(t *testing.T) {
	w := &syncBuffer{}
	bar := Start(w, false, "backup", func() Sample { return Sample{Done: 1, Total: 2} })
	time.Sleep(300 * time.Millisecond)
	bar.Stop()
	if w.String() != "" {
		t.Fatalf("a disabled bar wrote %q", w.String())
	}
}

// A spinner while the total is unknown; as soon as it is known, a bar with the
// percent, the total and an ETA.
func TestSpinnerTurnsIntoBar(t *testing.T) {
	var known atomic.Bool
	var done atomic.Int64
	w := &syncBuffer{}
	bar := Start(w, true, "backup", func() Sample {
		s := Sample{Done: done.Add(1 << 20), Detail: "3 files"}
		if known.Load() {
			s.Total = 100 << 20
		}
		return s
	})
	defer bar.Stop()
	waitFor(t, w, "3 files")
	if strings.Contains(w.String(), "%") {
		t.Fatalf("a percent before the total is known: %q", w.String())
	}
	known.Store(true)
	waitFor(t, w, "100 MiB")
	out := w.String()
	if !strings.Contains(out, "%") || !strings.Contains(out, ":") {
		t.Fatalf("no percent or ETA once the total is known: %q", out)
	}
}

func waitFor(t *testing.T, w *syncBuffer, s string) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !strings.Contains(w.String(), s) {
		if time.Now().After(deadline) {
			t.Fatalf("%q not drawn in 5 s; wrote %q", s, w.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
}
