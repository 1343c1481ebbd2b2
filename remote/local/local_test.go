package local_test

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/cairn-backup/cairn/remote"
	"github.com/cairn-backup/cairn/remote/local"
	"github.com/cairn-backup/cairn/remote/remotetest"
)

func TestSuite(t *testing.T) {
	remotetest.Run(t, func(t *testing.T) remote.Storage { return create(t) })
}

// create makes a store in a folder that does not exist yet, as a user would.
func create(t *testing.T) *local.Store {
	t.Helper()
	s, err := local.Create(t.Context(), filepath.Join(t.TempDir(), "repo", "nested"))
	if err != nil {
		t.Fatalf("create: %v", err)
	}
	return s
}

func put(t *testing.T, s *local.Store, h remote.Handle, data string) {
	t.Helper()
	if err := s.Put(t.Context(), h, remote.Bytes([]byte(data))); err != nil {
		t.Fatalf("put %s: %v", h, err)
	}
}

func names(t *testing.T, s *local.Store, typ remote.Type) []string {
	t.Helper()
	var out []string
	err := s.List(t.Context(), typ, func(i remote.Info) error {
		out = append(out, i.Name)
		return nil
	})
	if err != nil {
		t.Fatalf("list %s: %v", typ, err)
	}
	return out
}

// temps returns every temporary file under the store.
func temps(t *testing.T, s *local.Store) []string {
	t.Helper()
	var out []string
	err := filepath.WalkDir(s.Location(), func(p string, d fs.DirEntry, err error) error {
		if err == nil && strings.HasPrefix(d.Name(), ".tmp-") {
			out = append(out, p)
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func TestCreateAndOpen(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "repo")
	if _, err := local.Open(t.Context(), dir); !errors.Is(err, remote.ErrNotFound) {
		t.Errorf("open a missing folder: got %v, want ErrNotFound", err)
	}
	s, err := local.Create(t.Context(), dir)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := local.Open(t.Context(), dir); !errors.Is(err, remote.ErrNotFound) {
		t.Errorf("open a folder without config: got %v, want ErrNotFound", err)
	}
	// Until a config exists, Create may be run again (an interrupted init).
	if _, err := local.Create(t.Context(), dir); err != nil {
		t.Errorf("create again without config: %v", err)
	}
	put(t, s, remote.Handle{Type: remote.Config}, "cfg")
	if _, err := local.Create(t.Context(), dir); !errors.Is(err, remote.ErrExists) {
		t.Errorf("create over a repository: got %v, want ErrExists", err)
	}
	if _, err := local.Open(t.Context(), dir); err != nil {
		t.Errorf("open: %v", err)
	}
}

func TestModes(t *testing.T) {
	s := create(t)
	put(t, s, remote.Handle{Type: remote.Config}, "cfg")
	put(t, s, remote.Handle{Type: remote.Data, Name: "abcdef"}, "pack")
	put(t, s, remote.Handle{Type: remote.Key, Name: "k"}, "key")
	err := filepath.WalkDir(filepath.Dir(s.Location()), func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		fi, err := d.Info()
		if err != nil {
			return err
		}
		want := fs.FileMode(0o600)
		if d.IsDir() {
			want = fs.ModeDir | 0o700
		}
		if fi.Mode() != want {
			t.Errorf("%s: mode %v, want %v", p, fi.Mode(), want)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

func TestLayout(t *testing.T) {
	s := create(t)
	put(t, s, remote.Handle{Type: remote.Config}, "cfg")
	put(t, s, remote.Handle{Type: remote.Data, Name: "abcdef"}, "pack")
	put(t, s, remote.Handle{Type: remote.Snapshot, Name: "s1"}, "snap")
	for _, p := range []string{"config", "data/ab/abcdef", "snapshots/s1", "keys", "index", "locks"} {
		if _, err := os.Stat(filepath.Join(s.Location(), p)); err != nil {
			t.Errorf("layout: %v", err)
		}
	}
	err := s.Put(t.Context(), remote.Handle{Type: remote.Data, Name: "a"}, remote.Bytes(nil))
	if !errors.Is(err, remote.ErrInvalidHandle) {
		t.Errorf("put a one-character data name: got %v, want ErrInvalidHandle", err)
	}
}

func TestTempFiles(t *testing.T) {
	s := create(t)
	put(t, s, remote.Handle{Type: remote.Key, Name: "k1"}, "key")
	put(t, s, remote.Handle{Type: remote.Data, Name: "abcdef"}, "pack")
	if got := temps(t, s); len(got) != 0 {
		t.Fatalf("temporary files after successful puts: %q", got)
	}
	root := s.Location()
	old := time.Now().Add(-2 * time.Hour)
	for _, p := range []string{".tmp-1", "keys/.tmp-2", "data/ab/.tmp-3", "snapshots/.tmp-new"} {
		p = filepath.Join(root, p)
		if err := os.WriteFile(p, []byte("partial"), 0o600); err != nil {
			t.Fatal(err)
		}
		if !strings.HasSuffix(p, "new") {
			if err := os.Chtimes(p, old, old); err != nil {
				t.Fatal(err)
			}
		}
	}
	for typ, want := range map[remote.Type]int{remote.Key: 1, remote.Data: 1, remote.Snapshot: 0, remote.Config: 0} {
		if got := names(t, s, typ); len(got) != want {
			t.Errorf("list %s: got %q, want %d objects and no temporary file", typ, got, want)
		}
	}
	n, err := s.RemoveTemp(t.Context(), time.Hour)
	if err != nil || n != 3 {
		t.Errorf("RemoveTemp: removed %d, %v; want 3", n, err)
	}
	got := temps(t, s)
	if len(got) != 1 || !strings.HasSuffix(got[0], ".tmp-new") {
		t.Errorf("after RemoveTemp: %q, want only the fresh one", got)
	}
	if len(names(t, s, remote.Key)) != 1 || len(names(t, s, remote.Data)) != 1 {
		t.Error("RemoveTemp removed an object")
	}
}

// TestFailedPutLeavesNoTemp makes the rename fail (a folder sits at the target, which
// stops root too) and checks that the temporary file is gone.
func TestFailedPutLeavesNoTemp(t *testing.T) {
	s := create(t)
	target := filepath.Join(s.Location(), "keys", "k1")
	if err := os.MkdirAll(filepath.Join(target, "inside"), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := s.Put(t.Context(), remote.Handle{Type: remote.Key, Name: "k1"}, remote.Bytes([]byte("x"))); err == nil {
		t.Fatal("put over a folder succeeded")
	}
	if got := temps(t, s); len(got) != 0 {
		t.Errorf("temporary files after a failed put: %q", got)
	}
	// Not a regular file: damage to report, neither an object nor "not found".
	for _, err := range []error{stat(t, s, "k1"), getErr(t, s, "k1")} {
		if err == nil || errors.Is(err, remote.ErrNotFound) {
			t.Errorf("a folder at an object's place: got %v, want an error other than ErrNotFound", err)
		}
	}
	if got := names(t, s, remote.Key); len(got) != 0 {
		t.Errorf("list: got %q, want no folder listed", got)
	}
}

func stat(t *testing.T, s *local.Store, name string) error {
	_, err := s.Stat(t.Context(), remote.Handle{Type: remote.Key, Name: name})
	return err
}

func getErr(t *testing.T, s *local.Store, name string) error {
	rd, err := s.Get(t.Context(), remote.Handle{Type: remote.Key, Name: name}, 0, 0)
	if err == nil {
		rd.Close()
	}
	return err
}

// TestPutReadOnly needs a user that permissions stop, so it skips as root.
func TestPutReadOnly(t *testing.T) {
	if os.Geteuid() == 0 {
		t.Skip("root ignores folder permissions")
	}
	s := create(t)
	keys := filepath.Join(s.Location(), "keys")
	if err := os.Chmod(keys, 0o500); err != nil {
		t.Fatal(err)
	}
	defer os.Chmod(keys, 0o700)
	if err := s.Put(t.Context(), remote.Handle{Type: remote.Key, Name: "k1"}, remote.Bytes([]byte("x"))); err == nil {
		t.Error("put into a read-only folder succeeded")
	}
	if got := temps(t, s); len(got) != 0 {
		t.Errorf("temporary files after a failed put: %q", got)
	}
	if err := os.Chmod(keys, 0o000); err != nil {
		t.Fatal(err)
	}
	if err := s.List(t.Context(), remote.Key, func(remote.Info) error { return nil }); err == nil {
		t.Error("list of an unreadable folder succeeded: a failed listing must not look empty")
	}
}

// TestListFailures: every listing that cannot be read fails; only a type folder that is
// missing from an existing repository lists as empty.
func TestListFailures(t *testing.T) {
	s := create(t)
	root := s.Location()
	put(t, s, remote.Handle{Type: remote.Data, Name: "abcdef"}, "pack")
	if err := os.Remove(filepath.Join(root, "locks")); err != nil {
		t.Fatal(err)
	}
	if got := names(t, s, remote.Lock); len(got) != 0 {
		t.Errorf("list of a missing type folder: %q", got)
	}
	// Foreign entries in data/: a stray file, a folder that is no shard, an object in
	// the wrong shard. None is listed.
	for _, p := range []string{"data/zz-file", "data/abc/x1", "data/cd/ab99"} {
		p = filepath.Join(root, p)
		if err := os.MkdirAll(filepath.Dir(p), 0o700); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, nil, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	if got := names(t, s, remote.Data); len(got) != 1 || got[0] != "abcdef" {
		t.Errorf("list data: got %q, want [abcdef]", got)
	}
	// A type folder that is a file cannot be read.
	if err := os.Remove(filepath.Join(root, "keys")); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(root, "keys"), nil, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := s.List(t.Context(), remote.Key, func(remote.Info) error { return nil }); err == nil {
		t.Error("list of a type folder that is a file succeeded")
	}
}

// TestVanishedRepository: a repository folder that disappeared (an unmounted disk)
// fails every listing, and a put must not build a fresh tree in its place.
func TestVanishedRepository(t *testing.T) {
	s := create(t)
	root := s.Location()
	if err := os.RemoveAll(root); err != nil {
		t.Fatal(err)
	}
	for _, typ := range remote.Types {
		err := s.List(t.Context(), typ, func(remote.Info) error { return nil })
		if !errors.Is(err, remote.ErrNotFound) {
			t.Errorf("list %s of a vanished repository: got %v, want ErrNotFound", typ, err)
		}
	}
	if err := s.Put(t.Context(), remote.Handle{Type: remote.Data, Name: "cdef"}, remote.Bytes(nil)); err == nil {
		t.Error("put into a vanished repository succeeded")
	}
	if _, err := os.Stat(root); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("put recreated the repository folder: %v", err)
	}
}
