package local_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/cairn-backup/cairn/remote"
	"github.com/cairn-backup/cairn/remote/local"
)

var packHandle = remote.Handle{Type: remote.Data, Name: "abcdef0123"}

// filled is a temporary file of the store holding data, as a pack being filled is,
// and its path.
func filled(t *testing.T, s *local.Store, data []byte) (remote.TempFile, string) {
	t.Helper()
	before := tempsIn(t, s)
	f, err := s.CreateTemp(remote.Data)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Discard() })
	if _, err := f.Write(data); err != nil {
		t.Fatal(err)
	}
	for _, p := range tempsIn(t, s) {
		if !slices.Contains(before, p) {
			return f, p
		}
	}
	t.Fatal("CreateTemp made no `.tmp-` file in data/")
	return nil, ""
}

// tempsIn returns the temporary files in data/ itself.
func tempsIn(t *testing.T, s *local.Store) []string {
	t.Helper()
	out, err := filepath.Glob(filepath.Join(s.Location(), "data", ".tmp-*"))
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// object reads an object whole.
func object(t *testing.T, s *local.Store, h remote.Handle) []byte {
	t.Helper()
	got, err := remote.ReadAll(t.Context(), s, h, 0, 0, 1<<20)
	if err != nil {
		t.Fatal(err)
	}
	return got
}

// A file of CreateTemp lies in data/ itself, hidden from the listing, and TakeFile
// renames it into its shard: the object is the very file written (no copy was made),
// its temporary name is gone, and the file reads the object until discarded.
func TestTakeFileRenames(t *testing.T) {
	s := create(t)
	data := []byte("the bytes of a finished pack")
	f, path := filled(t, s, data)
	if got := names(t, s, remote.Data); len(got) != 0 {
		t.Errorf("list data with a pack being filled: %q", got)
	}
	before, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.TakeFile(t.Context(), packHandle, f, int64(len(data))); err != nil {
		t.Fatal(err)
	}
	after, err := os.Stat(filepath.Join(s.Location(), "data", "ab", packHandle.Name))
	if err != nil {
		t.Fatal(err)
	}
	if !os.SameFile(before, after) {
		t.Error("the object is a copy, not the file taken")
	}
	if after.Mode() != 0o600 {
		t.Errorf("object mode %v, want 0600", after.Mode())
	}
	if got := temps(t, s); len(got) != 0 {
		t.Errorf("temporary files after TakeFile: %q", got)
	}
	back, err := io.ReadAll(io.NewSectionReader(f, 0, int64(len(data))))
	if err != nil || !bytes.Equal(back, data) {
		t.Errorf("the file reads %q, %v after TakeFile", back, err)
	}
	if err := f.Discard(); err != nil {
		t.Error(err)
	}
	if got := object(t, s, packHandle); !bytes.Equal(got, data) {
		t.Errorf("object holds %q after Discard, want %q", got, data)
	}
}

// A file another store made (a temporary folder elsewhere, maybe on another file
// system), or one longer than the object, is copied as Put copies: the object holds
// exactly size bytes, and Discard then removes the file.
func TestTakeFileCopies(t *testing.T) {
	s, other := create(t), create(t)
	data := []byte("a pack written elsewhere, and bytes beyond it")
	size := int64(len("a pack written elsewhere"))
	for _, from := range []*local.Store{other, s} {
		f, path := filled(t, from, data)
		if err := s.TakeFile(t.Context(), packHandle, f, size); err != nil {
			t.Fatal(err)
		}
		if got := object(t, s, packHandle); !bytes.Equal(got, data[:size]) {
			t.Errorf("object holds %q, want %q", got, data[:size])
		}
		if err := f.Discard(); err != nil {
			t.Error(err)
		}
		if _, err := os.Lstat(path); !errors.Is(err, fs.ErrNotExist) {
			t.Errorf("the copied file is still there after Discard: %v", err)
		}
	}
	if got := append(temps(t, s), temps(t, other)...); len(got) != 0 {
		t.Errorf("temporary files after TakeFile: %q", got)
	}
}

// A file removed from its path while still open (a prune that took it for a crash
// leftover) cannot be renamed; its bytes are copied from the open file.
func TestTakeFileRemovedWhileOpen(t *testing.T) {
	s := create(t)
	data := []byte("a pack a prune swept while it was filled")
	f, path := filled(t, s, data)
	if err := os.Remove(path); err != nil {
		t.Fatal(err)
	}
	if err := s.TakeFile(t.Context(), packHandle, f, int64(len(data))); err != nil {
		t.Fatal(err)
	}
	if got := object(t, s, packHandle); !bytes.Equal(got, data) {
		t.Errorf("object holds %q, want %q", got, data)
	}
	if err := f.Discard(); err != nil {
		t.Error(err)
	}
	if got := temps(t, s); len(got) != 0 {
		t.Errorf("temporary files after TakeFile: %q", got)
	}
}

// A cancelled TakeFile stores nothing and leaves the file to Discard; a handle the
// store refuses is refused before anything moves.
func TestTakeFileRefused(t *testing.T) {
	s := create(t)
	f, path := filled(t, s, []byte("pack"))
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if err := s.TakeFile(ctx, packHandle, f, 4); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled TakeFile: %v", err)
	}
	bad := remote.Handle{Type: remote.Data, Name: ".tmp-x"}
	if err := s.TakeFile(t.Context(), bad, f, 4); !errors.Is(err, remote.ErrInvalidHandle) {
		t.Errorf("TakeFile to %s: got %v, want ErrInvalidHandle", bad, err)
	}
	if got := names(t, s, remote.Data); len(got) != 0 {
		t.Errorf("objects after refused TakeFiles: %q", got)
	}
	if _, err := os.Lstat(path); err != nil {
		t.Errorf("a refused TakeFile removed the file: %v", err)
	}
	if err := f.Discard(); err != nil {
		t.Error(err)
	}
	if got := temps(t, s); len(got) != 0 {
		t.Errorf("temporary files after Discard: %q", got)
	}
}

// What a process killed while filling a pack leaves, a `.tmp-` file in data/ itself,
// is listed as a temporary file and removed once old, like the file of a killed Put.
func TestPackLeftoverSwept(t *testing.T) {
	s := create(t)
	put(t, s, packHandle, "stored pack")
	_, left := filled(t, s, []byte("half a pack"))
	_, young := filled(t, s, []byte("a pack being filled now"))
	old := time.Now().Add(-2 * time.Hour)
	if err := os.Chtimes(left, old, old); err != nil {
		t.Fatal(err)
	}
	want := "data/" + filepath.Base(left)
	listed := map[string]int64{}
	err := s.ListTemp(t.Context(), func(i remote.Info) error {
		listed[i.Name] = i.Size
		return nil
	})
	if err != nil || len(listed) != 2 || listed[want] != int64(len("half a pack")) {
		t.Fatalf("ListTemp: %v, %v; want %s of 11 bytes and the young one", listed, err, want)
	}
	n, err := s.RemoveTemp(t.Context(), time.Hour)
	if err != nil || n != 1 {
		t.Fatalf("RemoveTemp: removed %d, %v; want 1", n, err)
	}
	if got := temps(t, s); len(got) != 1 || got[0] != young {
		t.Errorf("after RemoveTemp: %q, want only %s", got, young)
	}
	if got := names(t, s, remote.Data); len(got) != 1 {
		t.Errorf("RemoveTemp removed an object: %q left", got)
	}
}
