package restore

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/cairn-backup/cairn/internal/digest"
	"github.com/cairn-backup/cairn/internal/repo"
	"github.com/cairn-backup/cairn/manifest"
)

// crafter builds snapshots with the project's own writers, including what cairn never
// writes: bad names, duplicates, symlinks out of the target.
type crafter struct {
	t *testing.T
	r *repo.Repo
	w *repo.Writer
}

func newCrafter(t *testing.T, r *repo.Repo) *crafter {
	return &crafter{t: t, r: r, w: r.NewWriter(context.Background(), repo.WriterOptions{})}
}

var craftTime = time.Date(2024, 1, 2, 3, 4, 5, 6, time.UTC).UnixNano()

func (c *crafter) file(name, data string) manifest.Entry {
	c.t.Helper()
	var chunks []manifest.Chunk
	if data != "" {
		id, _, err := c.w.SaveBlob(context.Background(), repo.DataBlob, []byte(data))
		must(c.t, err)
		chunks = []manifest.Chunk{{ID: id, Size: uint32(len(data))}}
	}
	return manifest.Entry{Name: name, Type: manifest.File, Mode: 0o644, Size: uint64(len(data)), MTime: craftTime,
		Content: manifest.ContentRoot(chunks), Chunks: chunks}
}

func symlink(name, target string) manifest.Entry {
	return manifest.Entry{Name: name, Type: manifest.Symlink, Mode: 0o777, MTime: craftTime, Target: target}
}

// dir stores entries as given (unchecked: any names, any order) or with WriteDir.
func (c *crafter) dir(name string, entries []manifest.Entry, unchecked bool) manifest.Entry {
	c.t.Helper()
	ctx := context.Background()
	var root, blob digest.ID
	var err error
	if unchecked {
		root = (&manifest.Node{Entries: entries}).Root()
		blob, _, err = c.w.SaveBlob(ctx, repo.TreeBlob, manifest.EncodeUnchecked(entries))
	} else {
		root, blob, err = manifest.WriteDir(ctx, c.w, entries)
	}
	must(c.t, err)
	return manifest.Entry{Name: name, Type: manifest.Dir, Mode: 0o755, MTime: craftTime, Content: root, Subtree: blob}
}

func (c *crafter) snapshot(top []manifest.Entry) digest.ID {
	c.t.Helper()
	ctx := context.Background()
	d := c.dir("", top, true)
	must(c.t, c.w.Flush(ctx))
	s := &manifest.Snapshot{Version: manifest.SnapshotVersion, Time: time.Now().UTC(), Host: "evil", Paths: []string{"/"},
		Root: d.Content, Tree: d.Subtree, Program: "test"}
	b, err := s.Encode()
	must(c.t, err)
	id, err := c.r.SaveSnapshot(ctx, b)
	must(c.t, err)
	return id
}

func TestHostileManifestStaysInTarget(t *testing.T) {
	e := newEnv(t)
	c := newCrafter(t, e.open())
	outside := filepath.Join(os.TempDir(), "outside-"+digest.Of([]byte(t.Name()+time.Now().String())).Short())
	must(t, os.MkdirAll(outside, 0o755))
	t.Cleanup(func() { os.RemoveAll(outside) })

	dup := c.dir("dupdir", []manifest.Entry{c.file("dup", "1"), c.file("dup", "2")}, true)
	unsorted := c.dir("unsorted", []manifest.Entry{c.file("b", "1"), c.file("a", "2")}, true)
	pre := c.dir("pre", []manifest.Entry{c.file("y", "through a symlink?")}, false)
	top := []manifest.Entry{ // sorted bytewise, as the decoder demands
		c.file("", "empty name"), c.file(".", "dot"), c.file("..", "dotdot"), c.file("/abs", "absolute"),
		c.file("a\x00b", "nul"), c.file("a/b", "slash"), dup, c.file("good", "good"),
		symlink("link", outside), pre, unsorted,
	}
	id := c.snapshot(top)

	target := t.TempDir()
	must(t, os.Symlink(outside, filepath.Join(target, "pre"))) // already in the target
	res, err := e.restore(id, Options{Target: target})
	if !errors.Is(err, ErrPartial) {
		t.Fatalf("restore of a hostile tree: %v, want ErrPartial", err)
	}
	if names := list(t, outside); len(names) != 0 {
		t.Fatalf("written outside the target: %v", names)
	}
	reported := ""
	for _, p := range res.Problems {
		reported += p.Error() + "\n"
	}
	for _, bad := range []string{`name ""`, `"."`, `".."`, `"/abs"`, `"a/b"`, `"a\x00b"`, "/dupdir", "/unsorted"} {
		if !strings.Contains(reported, bad) {
			t.Errorf("bad entry %s not reported:\n%s", bad, reported)
		}
	}
	if got := strings.Join(list(t, target), ","); got != "dupdir,good,link,pre,unsorted" {
		t.Errorf("target holds %s", got)
	}
	if b, _ := os.ReadFile(filepath.Join(target, "good")); string(b) != "good" {
		t.Errorf("good sibling: %q", b)
	}
	if b, _ := os.ReadFile(filepath.Join(target, "pre", "y")); string(b) != "through a symlink?" {
		t.Errorf("pre/y: %q", b)
	}
	if fi, err := os.Lstat(filepath.Join(target, "pre")); err != nil || !fi.IsDir() {
		t.Errorf("pre is not a directory: %v", err)
	}

	// A later snapshot puts a directory where the symlink to the outside now is.
	later := c.snapshot([]manifest.Entry{c.dir("link", []manifest.Entry{c.file("x", "x")}, false)})
	if _, err := e.restore(later, Options{Target: target, Overwrite: Never}); !errors.Is(err, ErrPartial) {
		t.Errorf("--overwrite never with a symlink in a directory's place: %v", err)
	}
	if names := list(t, outside); len(names) != 0 {
		t.Fatalf("written outside the target through a symlink: %v", names)
	}
	e.mustRestore(later, Options{Target: target})
	if names := list(t, outside); len(names) != 0 {
		t.Fatalf("written outside the target through a symlink: %v", names)
	}
	if b, _ := os.ReadFile(filepath.Join(target, "link", "x")); string(b) != "x" {
		t.Errorf("link/x: %q", b)
	}
}
