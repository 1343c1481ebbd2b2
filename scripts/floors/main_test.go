package main

import (
	"bytes"
	"context"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// field returns the value of "name VALUE" among lines.
func field(t *testing.T, lines []string, name string) string {
	t.Helper()
	for _, l := range lines {
		if v, ok := strings.CutPrefix(l, name+" "); ok {
			return v
		}
	}
	t.Fatalf("no %q in %q", name, lines)
	return ""
}

// The walk floor lstats every entry once, subdirectories included.
func TestWalkCountsEveryEntry(t *testing.T) {
	dir := t.TempDir()
	for _, p := range []string{"a/b/c", "a/d", "e"} {
		if err := os.MkdirAll(filepath.Join(dir, p), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	for _, f := range []string{"x", "a/y", "a/b/c/z"} {
		if err := os.WriteFile(filepath.Join(dir, f), nil, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	lines, err := walk(context.Background(), []string{dir}, 2)
	if err != nil {
		t.Fatal(err)
	}
	if got := field(t, lines, "entries"); got != "8" { // a b c d e x y z
		t.Fatalf("entries %s, want 8", got)
	}
}

// The pipeline floor reads every byte and seals a duplicate file's chunks once, as
// an initial backup stores them.
func TestPipelineSealsDuplicatesOnce(t *testing.T) {
	dir := t.TempDir()
	rng := rand.New(rand.NewPCG(1, 2))
	big := make([]byte, 3<<20)
	for i := range big {
		big[i] = byte(rng.Uint32())
	}
	for _, f := range []string{"one", "two"} {
		if err := os.WriteFile(filepath.Join(dir, f), big, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(filepath.Join(dir, "small"), bytes.Repeat([]byte("cairn "), 100), 0o644); err != nil {
		t.Fatal(err)
	}
	lines, err := pipeline(context.Background(), []string{dir}, "fastest")
	if err != nil {
		t.Fatal(err)
	}
	if got := field(t, lines, "bytes_read"); got != "6292056" { // 2 × 3 MiB + 600
		t.Fatalf("bytes_read %s", got)
	}
	stored, err := strconv.Atoi(field(t, lines, "bytes_stored"))
	if err != nil || stored < 3<<20 || stored > 3<<20+64<<10 { // one copy of 3 MiB, random: sealed, not smaller
		t.Fatalf("bytes_stored %d (%v), want about 3 MiB: one copy", stored, err)
	}
}
