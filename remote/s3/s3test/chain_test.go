package s3test

import (
	"testing"
	"time"
)

// Requests that overlap count once in a chain; requests one after another each count.
func TestLongestChain(t *testing.T) {
	t0 := time.Unix(0, 0)
	at := func(op Op, from, to int) Span {
		return Span{Op: op, Start: t0.Add(time.Duration(from) * time.Millisecond), End: t0.Add(time.Duration(to) * time.Millisecond)}
	}
	for _, tc := range []struct {
		name  string
		spans []Span
		want  []Op
	}{
		{"none", nil, nil},
		{"together", []Span{at(OpGet, 0, 10), at(OpList, 1, 11), at(OpHead, 2, 12)}, []Op{OpGet}},
		{"in turn", []Span{at(OpPut, 20, 30), at(OpGet, 0, 10), at(OpHead, 10, 20)}, []Op{OpGet, OpHead, OpPut}},
		{"a long one beside a short chain", []Span{at(OpList, 0, 100), at(OpGet, 0, 10), at(OpPut, 11, 20),
			at(OpDelete, 21, 30), at(OpHead, 101, 110)}, []Op{OpGet, OpPut, OpDelete, OpHead}},
	} {
		got := LongestChain(tc.spans)
		if len(got) != len(tc.want) {
			t.Errorf("%s: chain %v, want %v", tc.name, got, tc.want)
			continue
		}
		for i, s := range got {
			if s.Op != tc.want[i] {
				t.Errorf("%s: chain %v, want %v", tc.name, got, tc.want)
			}
		}
	}
}
