package s3test

import (
	"slices"
	"sync"
	"time"
)

// Span is one request a proxy traced (Config.Trace).
type Span struct {
	Op         Op
	Target     string
	Start, End time.Time
}

// Spans collects what a proxy traces while it is on: set Config.Trace to its Trace.
// Safe for concurrent use.
type Spans struct {
	mu    sync.Mutex
	on    bool
	spans []Span
}

// Trace records a request while the recording is on; it is a Config.Trace.
func (s *Spans) Trace(op Op, target string, start, end time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.on {
		s.spans = append(s.spans, Span{op, target, start, end})
	}
}

// Record starts a new recording, dropping what was recorded before.
func (s *Spans) Record() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.on, s.spans = true, nil
}

// Stop ends the recording and returns the requests recorded.
func (s *Spans) Stop() []Span {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.on = false
	return slices.Clone(s.spans)
}

// LongestChain returns the longest chain of requests one after another (each started
// after the one before it ended): the round trips a client waited for in turn, which
// is what a distant bucket's latency multiplies. scripts/bench s3wan counts the same.
func LongestChain(spans []Span) []Span {
	spans = slices.Clone(spans)
	slices.SortFunc(spans, func(a, b Span) int { return a.End.Compare(b.End) })
	// best[i]: the longest chain that ends with spans[i].
	best := make([][]Span, len(spans))
	var out []Span
	for i, s := range spans {
		var prev []Span
		for j := range i {
			if !spans[j].End.After(s.Start) && len(best[j]) > len(prev) {
				prev = best[j]
			}
		}
		best[i] = append(slices.Clone(prev), s)
		if len(best[i]) > len(out) {
			out = best[i]
		}
	}
	return out
}
