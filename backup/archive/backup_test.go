package archive

import (
	"context"
	"errors"
	"io/fs"
	"math/rand/v2"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/cairn-backup/cairn/internal/digest"
	"github.com/cairn-backup/cairn/internal/repo"
	"github.com/cairn-backup/cairn/internal/repo/repotest"
	"github.com/cairn-backup/cairn/manifest"
	"github.com/cairn-backup/cairn/remote"
	"github.com/cairn-backup/cairn/remote/remotetest"
	"golang.org/x/sys/unix"
)

type env struct {
	t     *testing.T
	store *remotetest.Faulty
	opts  repo.Options
}

func newEnv(t *testing.T) *env {
	t.Helper()
	e := &env{t: t, opts: repotest.Options(t, 0)}
	e.store = repotest.Init(t, e.opts)
	return e
}

func (e *env) open() *repo.Repo { return repotest.Open(e.t, e.store, e.opts) }

func (e *env) backup(opts Options) (*Result, *repo.Repo) {
	e.t.Helper()
	r := e.open()
	if opts.Host == "" {
		opts.Host = "test-host"
	}
	res, err := Run(context.Background(), r, opts)
	if err != nil {
		e.t.Fatal(err)
	}
	return res, r
}

// writeTree makes a small tree with nested directories, empty and larger files.
func writeTree(t *testing.T, dir string, seed uint64) {
	t.Helper()
	rng := rand.New(rand.NewPCG(seed, seed))
	files := map[string]int{
		"a.txt": 100, "empty": 0, "sub/b.bin": 3 << 20, "sub/deep/c.txt": 5000,
		"sub/deep/d.bin": 700 << 10, "other/e": 1,
	}
	for _, name := range sortedKeys(files) {
		size := files[name]
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		data := make([]byte, size)
		for i := range data {
			data[i] = byte(rng.Uint32())
		}
		if err := os.WriteFile(p, data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.MkdirAll(filepath.Join(dir, "emptydir"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("a.txt", filepath.Join(dir, "link")); err != nil {
		t.Fatal(err)
	}
}

// subtree returns the Merkle root of the entry at the end of a path inside a snapshot.
func subtree(t *testing.T, r *repo.Repo, res *Result, snapTree digest.ID, path string) map[string]digest.ID {
	t.Helper()
	ids := map[string]digest.ID{}
	err := manifest.Walk(context.Background(), r, snapTree, res.Root, func(p string, e *manifest.Entry) error {
		ids[p] = e.Content
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return ids
}

func snapshotTree(t *testing.T, r *repo.Repo, id digest.ID) *manifest.Snapshot {
	t.Helper()
	data, err := r.LoadSnapshot(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	s, err := manifest.DecodeSnapshot(data)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// relative strips the absolute source prefix so that trees from two places compare.
func relative(ids map[string]digest.ID, src string) map[string]digest.ID {
	out := map[string]digest.ID{}
	prefix := src[1:] // Walk paths have no leading slash
	for p, id := range ids {
		if p == prefix {
			out["."] = id
		} else if len(p) > len(prefix) && p[:len(prefix)+1] == prefix+"/" {
			out[p[len(prefix)+1:]] = id
		}
	}
	return out
}

func TestSameTreeTwoPlacesSameRoot(t *testing.T) {
	e := newEnv(t)
	a, b := filepath.Join(t.TempDir(), "x"), filepath.Join(t.TempDir(), "y", "x")
	writeTree(t, a, 1)
	writeTree(t, b, 1)
	copyTimes(t, a, b)
	ra, _ := e.backup(Options{Paths: []string{a}})
	rb, _ := e.backup(Options{Paths: []string{b}})
	r := e.open()
	sa, sb := snapshotTree(t, r, ra.Snapshot), snapshotTree(t, r, rb.Snapshot)
	ia := relative(subtree(t, r, ra, sa.Tree, a), a)
	ib := relative(subtree(t, r, rb, sb.Tree, b), b)
	for p, id := range ia {
		if ib[p] != id {
			t.Logf("differs: %q", p)
		}
	}
	if len(ia) == 0 || ia["."] != ib["."] {
		t.Fatalf("the same tree in two places has roots %s and %s", ia["."].Short(), ib["."].Short())
	}
}

// copyTimes gives b the mtimes of a, as cp -a would.
func copyTimes(t *testing.T, a, b string) {
	t.Helper()
	var paths []string
	_ = filepath.Walk(a, func(p string, _ os.FileInfo, _ error) error { paths = append(paths, p); return nil })
	for i := len(paths) - 1; i >= 0; i-- {
		rel, _ := filepath.Rel(a, paths[i])
		st, err := os.Lstat(paths[i])
		if err != nil {
			t.Fatal(err)
		}
		ts := []unix.Timespec{unix.NsecToTimespec(st.ModTime().UnixNano()), unix.NsecToTimespec(st.ModTime().UnixNano())}
		if err := unix.UtimesNanoAt(unix.AT_FDCWD, filepath.Join(b, rel), ts, unix.AT_SYMLINK_NOFOLLOW); err != nil {
			t.Fatal(err)
		}
	}
}

func TestEditChangesOnlyItsPath(t *testing.T) {
	e := newEnv(t)
	src := filepath.Join(t.TempDir(), "src")
	writeTree(t, src, 2)
	r1, _ := e.backup(Options{Paths: []string{src}})
	file := filepath.Join(src, "sub", "deep", "c.txt")
	if err := os.WriteFile(file, []byte("edited"), 0o644); err != nil {
		t.Fatal(err)
	}
	r2, _ := e.backup(Options{Paths: []string{src}})
	r := e.open()
	before := subtree(t, r, r1, snapshotTree(t, r, r1.Snapshot).Tree, src)
	after := subtree(t, r, r2, snapshotTree(t, r, r2.Snapshot).Tree, src)
	rel := file[1:]
	onPath := map[string]bool{"": true}
	for p := rel; p != "."; p = filepath.Dir(p) {
		onPath[p] = true
	}
	for p, id := range after {
		if changed := before[p] != id; changed != onPath[p] {
			t.Errorf("%q: changed=%v, on the edited path=%v", p, changed, onPath[p])
		}
	}
	if r2.Stats.ChangedFiles != 1 || r2.Stats.UnchangedFiles != r1.Stats.NewFiles-1 {
		t.Errorf("stats %+v", r2.Stats)
	}
}

func TestUnchangedTreeUploadsNothing(t *testing.T) {
	e := newEnv(t)
	src := filepath.Join(t.TempDir(), "src")
	writeTree(t, src, 3)
	first, _ := e.backup(Options{Paths: []string{src}})
	puts := e.store.Calls(remotetest.OpPut, remote.Data, remote.Index)
	second, _ := e.backup(Options{Paths: []string{src}})
	if n := e.store.Calls(remotetest.OpPut, remote.Data, remote.Index); n != puts {
		t.Fatalf("second backup of an unchanged tree wrote %d packs or index segments", n-puts)
	}
	if second.Stats.BytesRead != 0 || second.Root != first.Root {
		t.Fatalf("second backup read %d bytes; roots %s vs %s", second.Stats.BytesRead, first.Root.Short(), second.Root.Short())
	}
	if second.Parent == nil || *second.Parent != first.Snapshot {
		t.Fatal("second backup did not use the first as its parent")
	}
	r := e.open()
	s2 := snapshotTree(t, r, second.Snapshot)
	if s2.Previous == nil || *s2.Previous != first.Snapshot {
		t.Fatal("snapshot does not chain to its predecessor")
	}
	forced, _ := e.backup(Options{Paths: []string{src}, Force: true})
	if forced.Stats.BytesRead == 0 || forced.Root != first.Root {
		t.Fatalf("--force read %d bytes, root %s", forced.Stats.BytesRead, forced.Root.Short())
	}
}

func TestContentRoundTripThroughRepository(t *testing.T) {
	e := newEnv(t)
	src := filepath.Join(t.TempDir(), "src")
	writeTree(t, src, 4)
	res, r := e.backup(Options{Paths: []string{src}})
	if checked := e.sameContent(r, snapshotTree(t, r, res.Snapshot), src); checked != 6 {
		t.Fatalf("checked %d files, want 6", checked)
	}
}

// TestSameEntryCoversEveryField guards sameEntry against a field added to
// manifest.Entry but not compared: entries that differ in any one field must differ.
func TestSameEntryCoversEveryField(t *testing.T) {
	base := manifest.Entry{Name: "f", Type: manifest.File, Mode: 0o644, Size: 1, Content: digest.Of([]byte("x")),
		Chunks: []manifest.Chunk{{ID: digest.Of([]byte("x")), Size: 1}}}
	same := base
	if !sameEntry(&base, &same) {
		t.Fatal("equal entries differ")
	}
	v := reflect.ValueOf(&same).Elem()
	for i := 0; i < v.NumField(); i++ {
		c := base
		c.Chunks = slices.Clone(base.Chunks)
		f := reflect.ValueOf(&c).Elem().Field(i)
		switch f.Kind() {
		case reflect.String:
			f.SetString(f.String() + "x")
		case reflect.Bool:
			f.SetBool(!f.Bool())
		case reflect.Uint8, reflect.Uint32, reflect.Uint64:
			f.SetUint(f.Uint() + 1)
		case reflect.Int64:
			f.SetInt(f.Int() + 1)
		case reflect.Array:
			f.Index(0).SetUint(f.Index(0).Uint() + 1)
		case reflect.Slice:
			f.Set(reflect.Append(f, reflect.New(f.Type().Elem()).Elem()))
		default:
			t.Fatalf("field %s of kind %s is not covered by this test", v.Type().Field(i).Name, f.Kind())
		}
		if sameEntry(&base, &c) {
			t.Errorf("entries differing in %s compare equal", v.Type().Field(i).Name)
		}
	}
}

// A path given to back up that does not exist is reported as unreadable and the others
// are still backed up (a nightly job with one unmounted disk keeps its snapshot); when
// none exists there is no snapshot.
func TestMissingPathIsUnreadable(t *testing.T) {
	e := newEnv(t)
	src := t.TempDir()
	writeTree(t, src, 3)
	missing := filepath.Join(t.TempDir(), "unmounted")
	r := e.open()
	res, err := Run(context.Background(), r, Options{Paths: []string{src, missing}, Host: "test-host"})
	if !errors.Is(err, ErrPartial) || res == nil {
		t.Fatalf("backup with a missing path: %v, want ErrPartial with the result", err)
	}
	if len(res.Unreadable) != 1 || res.Unreadable[0].Path != missing || !errors.Is(res.Unreadable[0].Err, fs.ErrNotExist) {
		t.Fatalf("unreadable = %v, want only %s", res.Unreadable, missing)
	}
	s := snapshotTree(t, r, res.Snapshot)
	ids := subtree(t, r, res, s.Tree, src)
	if _, ok := ids[strings.TrimPrefix(src, "/")+"/sub/deep/c.txt"]; !ok {
		t.Fatalf("the present path was not backed up: %d entries", len(ids))
	}
	res, err = Run(context.Background(), e.open(), Options{Paths: []string{missing}, Host: "test-host"})
	if res != nil || !errors.Is(err, ErrNoPaths) || !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("backup of only a missing path: %v, want ErrNoPaths naming it", err)
	}
}
