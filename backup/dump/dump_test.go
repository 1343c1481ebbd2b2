package dump

import (
	"archive/tar"
	"archive/zip"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/cairn-backup/cairn/backup/archive"
	"github.com/cairn-backup/cairn/backup/restore"
	"github.com/cairn-backup/cairn/internal/digest"
	"github.com/cairn-backup/cairn/internal/repo"
	"github.com/cairn-backup/cairn/internal/repo/repotest"
	"github.com/cairn-backup/cairn/remote/remotetest"
)

type env struct {
	t     *testing.T
	store *remotetest.Faulty
	opts  repo.Options
	snap  repo.Snapshot
	src   string
}

// newEnv backs up a tree with small and multi-chunk files, a symlink, an empty
// directory and a nested one.
func newEnv(t *testing.T) *env {
	e := &env{t: t, opts: repotest.Options(t, 0)}
	e.store = repotest.Init(t, e.opts)
	e.src = filepath.Join(t.TempDir(), "src")
	rng := rand.New(rand.NewPCG(1, 2))
	big := make([]byte, 4<<20)
	for i := range big {
		big[i] = byte(rng.Uint32())
	}
	files := map[string][]byte{"a.txt": []byte("hello\n"), "sub/deep/b.bin": big, "sub/empty": nil,
		"sub/twice": append(append([]byte{}, big[:2<<20]...), big[:2<<20]...)}
	for name, data := range files {
		p := filepath.Join(e.src, name)
		must(t, os.MkdirAll(filepath.Dir(p), 0o755))
		must(t, os.WriteFile(p, data, 0o640))
	}
	must(t, os.Mkdir(filepath.Join(e.src, "nothing"), 0o700))
	must(t, os.Symlink("a.txt", filepath.Join(e.src, "link")))
	old := time.Date(2020, 1, 2, 3, 4, 5, 0, time.UTC)
	must(t, os.Chtimes(filepath.Join(e.src, "a.txt"), old, old))
	r := e.open()
	res, err := archive.Run(context.Background(), r, archive.Options{Paths: []string{e.src}, Host: "h"})
	must(t, err)
	snaps, _, err := r.LoadSnapshots(context.Background())
	must(t, err)
	e.snap, err = repo.Find(snaps, res.Snapshot.String())
	must(t, err)
	return e
}

func (e *env) open() *repo.Repo { return repotest.Open(e.t, e.store, e.opts) }

func (e *env) dump(p string, opts Options) ([]byte, *Result, error) {
	var buf bytes.Buffer
	res, err := Run(context.Background(), e.open(), e.snap, p, opts, &buf)
	return buf.Bytes(), res, err
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// A file dumps as its content, whatever the window: several windows, chunks
// repeated within the file.
func TestDumpFile(t *testing.T) {
	e := newEnv(t)
	for _, name := range []string{"a.txt", "sub/deep/b.bin", "sub/twice", "sub/empty"} {
		want, err := os.ReadFile(filepath.Join(e.src, name))
		must(t, err)
		for _, window := range []int64{0, 1 << 20} {
			got, _, err := e.dump(filepath.Join(e.src, name), Options{Window: window})
			must(t, err)
			if !bytes.Equal(got, want) {
				t.Errorf("%s (window %d): %d bytes differ from the %d of the source", name, window, len(got), len(want))
			}
		}
	}
}

func TestDumpMissing(t *testing.T) {
	e := newEnv(t)
	if _, _, err := e.dump(e.src+"/nope", Options{}); !errors.Is(err, ErrNotFound) {
		t.Fatalf("got %v, want ErrNotFound", err)
	}
}

// The tar of a directory holds exactly what a restore of it writes: names, types,
// modes, times, link targets and contents.
func TestDumpTarEqualsRestore(t *testing.T) {
	e := newEnv(t)
	data, res, err := e.dump(e.src, Options{Window: 1 << 20})
	must(t, err)
	target := t.TempDir()
	_, err = restore.Run(context.Background(), e.open(), e.snap, restore.Options{Target: target})
	must(t, err)
	want := tree(t, filepath.Join(target, e.src), strings.TrimPrefix(e.src, "/"))
	got := map[string]string{}
	tr := tar.NewReader(bytes.NewReader(data))
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		must(t, err)
		body, err := io.ReadAll(tr)
		must(t, err)
		got[strings.TrimSuffix(h.Name, "/")] = describe(h.FileInfo().Mode(), h.ModTime, h.Linkname, body)
	}
	compare(t, got, want)
	if res.Entries != len(want) {
		t.Errorf("result counts %d entries, the tar has %d", res.Entries, len(want))
	}
}

// The zip of a directory holds the same.
func TestDumpZipEqualsRestore(t *testing.T) {
	e := newEnv(t)
	data, _, err := e.dump(e.src+"/sub", Options{Format: Zip})
	must(t, err)
	zr, err := zip.NewReader(bytes.NewReader(data), int64(len(data)))
	must(t, err)
	got := map[string]string{}
	for _, f := range zr.File {
		rc, err := f.Open()
		must(t, err)
		body, err := io.ReadAll(rc)
		must(t, err)
		got[strings.TrimSuffix(f.Name, "/")] = describe(f.Mode(), f.Modified, "", body)
	}
	want := tree(t, filepath.Join(e.src, "sub"), strings.TrimPrefix(e.src, "/")+"/sub")
	compare(t, got, want)
}

// tree describes every entry under dir, named as prefix/relative path.
func tree(t *testing.T, dir, prefix string) map[string]string {
	out := map[string]string{}
	must(t, filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || p == dir {
			return err
		}
		fi, err := os.Lstat(p)
		if err != nil {
			return err
		}
		var body []byte
		var link string
		if fi.Mode().IsRegular() {
			body, err = os.ReadFile(p)
		} else if fi.Mode()&fs.ModeSymlink != 0 {
			link, err = os.Readlink(p)
		}
		rel, _ := filepath.Rel(dir, p)
		out[prefix+"/"+filepath.ToSlash(rel)] = describe(fi.Mode(), fi.ModTime(), link, body)
		return err
	}))
	return out
}

func describe(m fs.FileMode, mtime time.Time, link string, body []byte) string {
	if m.IsDir() {
		return m.String() // a directory's time changes as its entries are written
	}
	if m&fs.ModeSymlink != 0 {
		return "symlink -> " + link
	}
	return fmt.Sprintf("%s %s %d bytes %s", m, mtime.UTC().Format(time.RFC3339), len(body), digest.Of(body).Short())
}

func compare(t *testing.T, got, want map[string]string) {
	t.Helper()
	for name, w := range want {
		if g, ok := got[name]; !ok {
			t.Errorf("%s: missing from the archive", name)
		} else if g != w {
			t.Errorf("%s: archive has %q, restore %q", name, g, w)
		}
	}
	for name := range got {
		if _, ok := want[name]; !ok {
			t.Errorf("%s: in the archive, not in the restore", name)
		}
	}
}

// Dumping "/" archives the whole snapshot, the directories above the backed-up path
// included, as restic's dump does.
func TestDumpRoot(t *testing.T) {
	e := newEnv(t)
	data, _, err := e.dump("/", Options{})
	must(t, err)
	names := map[string]bool{}
	tr := tar.NewReader(bytes.NewReader(data))
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		must(t, err)
		names[h.Name] = true
	}
	rel := strings.TrimPrefix(e.src, "/")
	for _, want := range []string{strings.Split(rel, "/")[0] + "/", rel + "/", rel + "/a.txt", rel + "/sub/deep/b.bin"} {
		if !names[want] {
			t.Errorf("%s missing from the archive of /", want)
		}
	}
}
