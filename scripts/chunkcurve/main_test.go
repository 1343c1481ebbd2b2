package main

import (
	"bytes"
	"io"
	"testing"
)

// TestEdited checks the streamed edited version against the edit applied to the
// original in memory, the way scripts/bench applies it to a file.
func TestEdited(t *testing.T) {
	sc := scenario{seed: 7, size: 3*insertSize + 12345}
	data, err := io.ReadAll(sc.original())
	if err != nil || int64(len(data)) != sc.size {
		t.Fatalf("original: %d bytes, %v", len(data), err)
	}
	insert, _ := io.ReadAll(io.LimitReader(sc.stream("insert"), insertSize))
	mid := sc.size / 2
	want := append(append(append([]byte{}, data[:mid]...), insert...), data[mid:]...)
	for _, e := range sc.edits() {
		copy(want[e.off:], e.data)
	}
	// Odd-sized reads cross the edges of the parts and of the edits.
	var got bytes.Buffer
	if _, err := io.CopyBuffer(&got, struct{ io.Reader }{sc.edited()}, make([]byte, 1000)); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got.Bytes(), want) {
		t.Fatal("streamed edited version differs from the edit applied in memory")
	}
	if bytes.Equal(got.Bytes()[:mid], data[:mid]) {
		t.Error("no overwrite landed in the first half; pick another seed")
	}
}

func TestParseSize(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want int64
	}{
		{"1GiB", 1 << 30}, {"256MiB", 256 << 20}, {"64 KiB", 64 << 10}, {"4096", 4096}, {"10B", 10},
		{"", 0}, {"1GB", 0}, {"-1MiB", 0}, {"0", 0}, {"99999999999GiB", 0},
	} {
		got, err := parseSize(tc.in)
		if tc.want == 0 {
			if err == nil {
				t.Errorf("parseSize(%q) = %d, want an error", tc.in, got)
			}
			continue
		}
		if err != nil || got != tc.want {
			t.Errorf("parseSize(%q) = %d, %v; want %d", tc.in, got, err, tc.want)
		}
	}
}
