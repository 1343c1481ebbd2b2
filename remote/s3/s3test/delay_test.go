package s3test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"
)

// A benchmark's WAN proxy holds every request for its delay and reports each one's
// kind and span, which the longest-chain count of scripts/bench reads.
func TestDelayAndTrace(t *testing.T) {
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusOK)
	}))
	defer up.Close()
	type span struct {
		op         Op
		target     string
		start, end time.Time
	}
	var mu sync.Mutex
	var spans []span
	const delay = 30 * time.Millisecond
	p, err := StartFaultProxy(context.Background(), Config{Upstream: up.URL, CountOnly: true, Delay: delay,
		Trace: func(op Op, target string, start, end time.Time) {
			mu.Lock()
			defer mu.Unlock()
			spans = append(spans, span{op, target, start, end})
		}})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	for _, u := range []string{p.URL + "/bucket/key", p.URL + "/bucket?list-type=2&prefix=a"} {
		begin := time.Now()
		resp, err := http.Get(u)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if took := time.Since(begin); took < delay {
			t.Errorf("GET %s answered after %v, before the delay of %v", u, took, delay)
		}
	}
	mu.Lock()
	defer mu.Unlock()
	if len(spans) != 2 || spans[0].op != OpGet || spans[1].op != OpList || spans[0].target != "/bucket/key" {
		t.Fatalf("traced %+v, want a get then a list", spans)
	}
	for _, s := range spans {
		if d := s.end.Sub(s.start); d < delay {
			t.Errorf("%s traced over %v, less than the delay %v", s.op, d, delay)
		}
	}
	if c := p.Counts(); c.Get != 1 || c.List != 1 {
		t.Errorf("counts %+v, want one get and one list", c)
	}
}
