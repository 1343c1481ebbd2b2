package clitest

import (
	"crypto/sha256"
	"fmt"
	"maps"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// WriteFiles writes files (path relative to dir → content), making folders as needed.
func WriteFiles(t testing.TB, dir string, files map[string]string) {
	t.Helper()
	for name, content := range files {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// BigRandomFiles writes n files of size random bytes, drawn with seed, into dir.
func BigRandomFiles(t testing.TB, dir string, n, size int, seed uint64) {
	t.Helper()
	rng := rand.New(rand.NewPCG(seed, seed))
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, size)
	for i := 0; i < n; i++ {
		for j := range buf {
			buf[j] = byte(rng.Uint32())
		}
		if err := os.WriteFile(filepath.Join(dir, "f"+string(rune('a'+i%26))+strings.Repeat("x", i/26)), buf, 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// TreeState describes a tree for comparison: per path, type, mode, size, mtime, hash.
func TreeState(t testing.TB, root string) map[string]string {
	t.Helper()
	out, err := StateOf(root)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// StateOf is TreeState for goroutines other than the test's: it returns its error.
func StateOf(root string) (map[string]string, error) {
	out := map[string]string{}
	err := filepath.Walk(root, func(p string, fi os.FileInfo, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, p)
		desc := fmt.Sprintf("%v %d", fi.Mode(), fi.ModTime().UnixNano())
		if rel == "." {
			desc = fi.Mode().String()
		}
		if fi.Mode().IsRegular() {
			data, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			desc += fmt.Sprintf(" %d %x", len(data), sha256.Sum256(data))
		}
		out[rel] = desc
		return nil
	})
	return out, err
}

// SameState compares the entries below two roots; the roots themselves are not
// compared: a directory restored by path lands in the target, whose own mode and
// times restore leaves alone (as restic does).
func SameState(t testing.TB, want, got map[string]string) {
	t.Helper()
	want, got = maps.Clone(want), maps.Clone(got)
	delete(want, ".")
	delete(got, ".")
	for p, w := range want {
		if got[p] != w {
			t.Errorf("%s: got %q, want %q", p, got[p], w)
		}
	}
	for p := range got {
		if _, ok := want[p]; !ok {
			t.Errorf("%s: not in the snapshot", p)
		}
	}
}
