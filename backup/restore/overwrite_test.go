package restore

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// smallTree writes src/{a,b,d/c} and returns src.
func smallTree(t *testing.T) string {
	src := filepath.Join(t.TempDir(), "src")
	for p, data := range map[string]string{"a": "alpha", "b": "bravo", "d/c": "charlie"} {
		writeFile(t, filepath.Join(src, p), []byte(data), 0o644)
	}
	return src
}

func read(t *testing.T, p string) string {
	t.Helper()
	b, err := os.ReadFile(p)
	must(t, err)
	return string(b)
}

func TestOverwriteModes(t *testing.T) {
	e := newEnv(t)
	src := smallTree(t)
	id := e.backup(time.Time{}, src)
	target := t.TempDir()
	opts := Options{Target: target, Path: src}
	e.mustRestore(id, opts)
	a := filepath.Join(target, "a")

	// if-changed leaves identical files alone, and rewrites a file whose content
	// changed behind the same size and mtime.
	if res := e.mustRestore(id, opts); res.Files != 0 || res.Unchanged != 3 {
		t.Fatalf("if-changed rewrote identical files: %+v", res)
	}
	st, _ := os.Lstat(a)
	must(t, os.WriteFile(a, []byte("ALPHA"), 0o644))
	must(t, os.Chtimes(a, st.ModTime(), st.ModTime()))
	if res := e.mustRestore(id, opts); res.Files != 1 || res.Unchanged != 2 || read(t, a) != "alpha" {
		t.Fatalf("if-changed kept other content of the same size and mtime: %+v", res)
	}

	must(t, os.WriteFile(a, []byte("mine"), 0o600))
	opts.Overwrite = Never
	if res := e.mustRestore(id, opts); res.Kept != 3 || read(t, a) != "mine" {
		t.Fatalf("--overwrite never replaced a file: %+v", res)
	}
	opts.Overwrite = Always
	if res := e.mustRestore(id, opts); res.Files != 3 || read(t, a) != "alpha" {
		t.Fatalf("--overwrite always: %+v", res)
	}
}

// A directory where the snapshot has a file is reported and kept by default, and
// replaced with --overwrite always.
func TestDirectoryInTheWay(t *testing.T) {
	e := newEnv(t)
	src := smallTree(t)
	id := e.backup(time.Time{}, src)
	target := t.TempDir()
	writeFile(t, filepath.Join(target, "b", "mine"), []byte("mine"), 0o644)
	opts := Options{Target: target, Path: src}
	res, err := e.restore(id, opts)
	if !errors.Is(err, ErrPartial) || len(res.Problems) != 1 || read(t, filepath.Join(target, "b", "mine")) != "mine" {
		t.Fatalf("if-changed with a directory in the way: %v, %+v", err, res)
	}
	opts.Overwrite = Always
	e.mustRestore(id, opts)
	if read(t, filepath.Join(target, "b")) != "bravo" {
		t.Fatal("--overwrite always did not replace the directory")
	}
}

func TestDeleteOnlyUnderRestoredSubtree(t *testing.T) {
	e := newEnv(t)
	src := smallTree(t)
	id := e.backup(time.Time{}, src)
	outside := t.TempDir()
	writeFile(t, filepath.Join(outside, "precious"), []byte("p"), 0o644)
	base := t.TempDir()
	target := filepath.Join(base, "target")
	root := target // the restored directory's contents land in the target itself
	writeFile(t, filepath.Join(base, "sibling"), []byte("not restored, not deleted"), 0o644)
	writeFile(t, filepath.Join(root, "extra"), []byte("x"), 0o644)
	writeFile(t, filepath.Join(root, "d", "sub", "deep"), []byte("x"), 0o644)
	must(t, os.Symlink(outside, filepath.Join(root, "d", "out")))
	writeFile(t, filepath.Join(root, "b", "in-the-way"), []byte("a directory where b is a file"), 0o644)

	opts := Options{Target: target, Path: src}
	if _, err := e.restore(id, opts); err == nil {
		t.Fatal("a directory in a file's place was silently kept")
	}
	opts.Delete = true
	res := e.mustRestore(id, opts)
	if got := walkNames(t, root); got != "a,b,d,d/c" {
		t.Fatalf("after --delete: %s", got)
	}
	if res.Deleted != 4 || read(t, filepath.Join(root, "b")) != "bravo" {
		t.Errorf("result %+v", res)
	}
	if read(t, filepath.Join(outside, "precious")) != "p" || read(t, filepath.Join(base, "sibling")) == "" {
		t.Fatal("--delete reached outside the restored subtree")
	}
}

func TestDryRunWritesNothing(t *testing.T) {
	e := newEnv(t)
	src := smallTree(t)
	id := e.backup(time.Time{}, src)
	target := filepath.Join(t.TempDir(), "not-yet")
	var mu sync.Mutex
	var logged []string
	log := func(action, path string) {
		mu.Lock()
		defer mu.Unlock()
		logged = append(logged, action+" "+path)
	}
	res := e.mustRestore(id, Options{Target: target, Path: src, DryRun: true, Log: log})
	if _, err := os.Lstat(target); !os.IsNotExist(err) {
		t.Fatalf("a dry run created the target: %v", err)
	}
	if res.Files != 3 || res.Dirs != 1 || res.Bytes != 17 || !res.DryRun || len(logged) != 4 { // src itself is the target
		t.Fatalf("dry run: %+v, logged %v", res, logged)
	}
	e.mustRestore(id, Options{Target: target, Path: src})
	writeFile(t, filepath.Join(target, "extra"), nil, 0o644)
	logged = nil
	res = e.mustRestore(id, Options{Target: target, Path: src, DryRun: true, Delete: true, Log: log})
	if res.Unchanged != 3 || res.Deleted != 1 || !strings.Contains(strings.Join(logged, "\n"), "delete "+filepath.Join(target, "extra")) {
		t.Fatalf("dry run over a restore: %+v %v", res, logged)
	}
	if _, err := os.Lstat(filepath.Join(target, "extra")); err != nil {
		t.Fatal("a dry run deleted")
	}
}

func TestLeftoversOfAKilledRunAreRemoved(t *testing.T) {
	e := newEnv(t)
	src := smallTree(t)
	id := e.backup(time.Time{}, src)
	target := t.TempDir()
	e.mustRestore(id, Options{Target: target, Path: src})
	left := filepath.Join(target, "d", tempName())
	writeFile(t, left, []byte("half"), 0o600)
	must(t, unix.Mkfifo(filepath.Join(target, tempName()), 0o600))
	e.mustRestore(id, Options{Target: target, Path: src})
	if got := walkNames(t, target); got != "a,b,d,d/c" {
		t.Fatalf("leftovers not removed: %s", got)
	}
}
