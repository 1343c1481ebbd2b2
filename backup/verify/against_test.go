package verify

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/cairn-backup/cairn/internal/repo"
	"github.com/cairn-backup/cairn/manifest"
)

func (e *env) against(path string) (*Comparison, []string) {
	e.t.Helper()
	r := e.open()
	defer r.Close()
	snaps, _, err := r.LoadSnapshots(context.Background())
	if err != nil {
		e.t.Fatal(err)
	}
	var changes []string
	cmp, err := Against(context.Background(), r, snaps[len(snaps)-1], path, func(c manifest.Change) error {
		changes = append(changes, c.Kind.String()+" "+c.Path)
		return nil
	})
	if err != nil {
		e.t.Fatal(err)
	}
	return cmp, changes
}

// keepTimes restores the mtimes of directories after the test changed their entries,
// so that only the files changed count.
func keepTimes(t *testing.T, dirs ...string) func() {
	times := map[string]time.Time{}
	for _, d := range dirs {
		fi, err := os.Stat(d)
		if err != nil {
			t.Fatal(err)
		}
		times[d] = fi.ModTime()
	}
	return func() {
		for d, mt := range times {
			if err := os.Chtimes(d, mt, mt); err != nil {
				t.Fatal(err)
			}
		}
	}
}

func TestAgainstReportsExactlyTheChanges(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.tree("a")
	e.backup()
	cmp, changes := e.against(e.src)
	if !cmp.Equal || len(changes) > 0 || cmp.BytesRead != 0 || cmp.FilesRead != 0 || cmp.FilesReused == 0 {
		t.Fatalf("an unchanged tree: %+v %q", cmp, changes)
	}

	d1, d2 := filepath.Join(e.src, "a/d0/s0"), filepath.Join(e.src, "a/d1/s1")
	restore := keepTimes(t, d1, d2)
	e.write(map[string]int{"a/d0/s0/new": 4321})
	if err := os.Remove(filepath.Join(d2, "f01")); err != nil {
		t.Fatal(err)
	}
	modified := filepath.Join(e.src, "a/d0/s1/f03")
	fi, _ := os.Stat(modified)
	e.write(map[string]int{"a/d0/s1/f03": int(fi.Size())}) // same size, new content
	restore()

	cmp, changes = e.against(e.src)
	want := []string{"added " + d1 + "/new", "modified " + modified, "removed " + d2 + "/f01"}
	slices.Sort(changes)
	if !slices.Equal(changes, want) {
		t.Fatalf("changes\n got  %q\n want %q", changes, want)
	}
	if cmp.Equal || cmp.FilesRead != 2 || cmp.BytesRead != 4321+fi.Size() {
		t.Fatalf("read %d files, %d bytes; want 2 files, %d bytes (only the new and the modified)", cmp.FilesRead, cmp.BytesRead, 4321+fi.Size())
	}

	// Backed up again, the tree is the snapshot's: equal roots, nothing read.
	e.backup()
	if cmp, changes = e.against(e.src); !cmp.Equal || len(changes) > 0 || cmp.BytesRead != 0 {
		t.Fatalf("after a new backup: %+v %q", cmp, changes)
	}
	if cmp, _ = e.against(filepath.Join(e.src, "a/d1")); !cmp.Equal || cmp.Root != cmp.SnapshotRoot {
		t.Fatalf("a subdirectory: %+v", cmp)
	}
	// A new ctime makes every file be read: chunked as backup chunks, same roots.
	err := filepath.Walk(e.src, func(p string, fi os.FileInfo, err error) error {
		if err == nil && fi.Mode().IsRegular() {
			err = os.Chmod(p, fi.Mode().Perm())
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	if cmp, changes = e.against(e.src); !cmp.Equal || len(changes) > 0 || cmp.FilesRead < 10 || cmp.BytesRead < 2<<20 {
		t.Fatalf("every file read again: %+v %q", cmp, changes)
	}
}

func TestAgainstDirectoryReplacedAndMetadata(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.tree("a")
	e.backup()
	sub := filepath.Join(e.src, "a/d2")
	restore := keepTimes(t, filepath.Join(e.src, "a"))
	if err := os.RemoveAll(sub); err != nil {
		t.Fatal(err)
	}
	e.write(map[string]int{"a/d2": 10}) // a file where a directory was
	restore()
	if err := os.Chmod(filepath.Join(e.src, "a/d0"), 0o700); err != nil {
		t.Fatal(err)
	}
	_, changes := e.against(e.src)
	removed, added, modified := 0, 0, 0
	for _, c := range changes {
		switch c[:3] {
		case "rem":
			removed++
		case "add":
			added++
		case "mod":
			modified++
		}
	}
	if added != 1 || modified != 1 || removed < 3 || !slices.Contains(changes, "modified "+filepath.Join(e.src, "a/d0")) {
		t.Fatalf("changes %q", changes)
	}
}

func TestAgainstRefuses(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.tree("a")
	e.backup()
	r := e.open()
	snaps, _, _ := r.LoadSnapshots(context.Background())
	for _, p := range []string{"relative/path", filepath.Join(e.src, "nothere"), filepath.Join(e.src, "a/empty/x")} {
		if _, err := Against(context.Background(), r, snaps[0], p, func(manifest.Change) error { return nil }); err == nil {
			t.Errorf("%s compared", p)
		}
	}
	var _ repo.Snapshot
}
