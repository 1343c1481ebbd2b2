package prune

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/cairn-backup/cairn/backup/archive"
	"github.com/cairn-backup/cairn/internal/repo"
	"github.com/cairn-backup/cairn/internal/repo/repotest"
	"github.com/cairn-backup/cairn/remote/local"
)

// Temporary files that killed writes left in a local repository are removed by prune
// once older than the grace period; a younger one may be a running backup's upload
// and stays (docs/prune.md step 11).
func TestPruneRemovesOldTempFiles(t *testing.T) {
	ctx := context.Background()
	store, dir, opts := initLocal(t)
	src := t.TempDir()
	if err := os.WriteFile(filepath.Join(src, "f"), []byte("some content"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := archive.Run(ctx, repotest.Open(t, store, opts), archive.Options{Paths: []string{src}, Host: "h"}); err != nil {
		t.Fatal(err)
	}
	old := time.Now().Add(-48 * time.Hour)
	leave := func(rel string, size int, mtime time.Time) string {
		p := filepath.Join(dir, rel)
		if err := os.MkdirAll(filepath.Dir(p), 0o700); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, make([]byte, size), 0o600); err != nil {
			t.Fatal(err)
		}
		if err := os.Chtimes(p, mtime, mtime); err != nil {
			t.Fatal(err)
		}
		return p
	}
	gone := []string{leave("data/ab/.tmp-1", 1000, old), leave("index/.tmp-2", 20, old), leave(".tmp-3", 3, old)}
	young := leave("data/cd/.tmp-4", 500, time.Now())
	if res, err := Run(ctx, repotest.Open(t, store, opts), Options{DryRun: true}); err != nil || res.TempFiles != 0 {
		t.Fatalf("dry run: %v, %d temporary files removed", err, res.TempFiles)
	}
	if _, err := os.Lstat(gone[0]); err != nil {
		t.Fatalf("a dry run removed a temporary file: %v", err)
	}
	res, err := Run(ctx, repotest.Open(t, store, opts), Options{})
	if err != nil {
		t.Fatal(err)
	}
	if res.TempFiles != 3 || res.TempFreed != 1023 {
		t.Errorf("prune removed %d temporary files (%d bytes); want 3 (1023)", res.TempFiles, res.TempFreed)
	}
	for _, p := range gone {
		if _, err := os.Lstat(p); !os.IsNotExist(err) {
			t.Errorf("%s: still there after prune (%v)", p, err)
		}
	}
	if _, err := os.Lstat(young); err != nil {
		t.Errorf("a temporary file younger than the grace period was removed: %v", err)
	}
}

// A backup killed while it filled a pack leaves the pack's temporary file in the data
// folder itself (a local repository fills packs there, to rename them into place):
// prune removes it once older than the grace period, like any leftover of a write.
func TestPruneRemovesKilledPackFill(t *testing.T) {
	ctx := context.Background()
	store, dir, opts := initLocal(t)
	// The run stops here as if killed: no Flush, no Abort removes its open pack.
	w := repotest.Open(t, store, opts).NewWriter(ctx, repo.WriterOptions{})
	if _, _, err := w.SaveBlob(ctx, repo.DataBlob, []byte("a chunk of a killed backup")); err != nil {
		t.Fatal(err)
	}
	left, err := filepath.Glob(filepath.Join(dir, "data", ".tmp-*"))
	if err != nil || len(left) != 1 {
		t.Fatalf("the killed run's open pack: %q, %v; want one file in data/", left, err)
	}
	if res, err := Run(ctx, repotest.Open(t, store, opts), Options{}); err != nil || res.TempFiles != 0 {
		t.Fatalf("prune within the grace period: %v, %d temporary files removed; want none", err, res.TempFiles)
	}
	old := time.Now().Add(-48 * time.Hour)
	if err := os.Chtimes(left[0], old, old); err != nil {
		t.Fatal(err)
	}
	res, err := Run(ctx, repotest.Open(t, store, opts), Options{})
	if err != nil {
		t.Fatal(err)
	}
	if res.TempFiles != 1 {
		t.Errorf("prune removed %d temporary files, want the killed run's pack", res.TempFiles)
	}
	if _, err := os.Lstat(left[0]); !os.IsNotExist(err) {
		t.Errorf("%s: still there after prune (%v)", left[0], err)
	}
}

// initLocal creates a repository in a new local folder (temporary files are a local
// repository's own) and returns its store, folder and options.
func initLocal(t *testing.T) (*local.Store, string, repo.Options) {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "repo")
	store, err := local.Create(context.Background(), dir)
	if err != nil {
		t.Fatal(err)
	}
	opts := repotest.Options(t, 0)
	if _, err := repo.Init(context.Background(), store, opts); err != nil {
		t.Fatal(err)
	}
	return store, dir, opts
}
