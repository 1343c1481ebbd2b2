package archive

import (
	"os"
	"path/filepath"
	"testing"
)

// The count beside the backup finds what the backup stores, excludes and cache
// directories left out, so that a bar reaches 100 % and not 80 or 130.
func TestCountMatchesTheBackup(t *testing.T) {
	e := newEnv(t)
	src := t.TempDir()
	writeTree(t, src, 7)
	if err := os.WriteFile(filepath.Join(src, "skip.log"), make([]byte, 4096), 0o644); err != nil {
		t.Fatal(err)
	}
	cache := filepath.Join(src, "cache")
	if err := os.MkdirAll(cache, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(cache, cacheTagName), []byte("Signature: 8a477f597d28d172789f06886806bc55"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(cache, "big"), make([]byte, 1<<20), 0o644); err != nil {
		t.Fatal(err)
	}
	p := &Progress{}
	res, _ := e.backup(Options{Paths: []string{src}, Progress: p, Count: true, Excludes: []string{"*.log"}, ExcludeCaches: true})
	if !p.Counted.Load() {
		t.Fatal("the count did not finish")
	}
	if got, want := p.TotalBytes.Load(), int64(res.Stats.Bytes); got != want {
		t.Errorf("counted %d bytes, the backup saw %d", got, want)
	}
	if got, want := p.TotalFiles.Load(), p.NewFiles.Load()+p.Changed.Load()+p.Unchanged.Load(); got != want {
		t.Errorf("counted %d files, the backup saw %d", got, want)
	}
	q := &Progress{}
	e.backup(Options{Paths: []string{src}, Progress: q})
	if q.Counted.Load() || q.TotalBytes.Load() != 0 {
		t.Error("counted without Options.Count")
	}
}
