package fsys

import (
	"errors"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"golang.org/x/sys/unix"
)

// TestDirAgreesWithPaths: an open directory lists and describes its entries as the
// path-based calls do, and reports a missing entry under its full path.
func TestDirAgreesWithPaths(t *testing.T) {
	dir := t.TempDir()
	for _, n := range []string{"b", "a\nnewline", "\xff\xfe"} {
		if err := os.WriteFile(filepath.Join(dir, n), []byte(n), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Symlink("b", filepath.Join(dir, "link")); err != nil {
		t.Fatal(err)
	}
	if err := os.Mkdir(filepath.Join(dir, "sub"), 0o700); err != nil {
		t.Fatal(err)
	}
	d, err := OpenDirectory(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	names, err := d.Names()
	want, _ := ReadDirNames(dir)
	if err != nil || !slices.Equal(names, want) {
		t.Fatalf("Names = %q, %v; want %q", names, err, want)
	}
	for _, n := range names {
		got, err := d.Lstat(n)
		if want, _ := Lstat(filepath.Join(dir, n)); err != nil || got != want {
			t.Errorf("%q: Lstat = %+v, %v; want %+v", n, got, err, want)
		}
	}
	_, err = d.Lstat("gone")
	var pe *os.PathError
	if !errors.As(err, &pe) || pe.Path != filepath.Join(dir, "gone") || !errors.Is(err, unix.ENOENT) {
		t.Errorf("Lstat(gone) = %v", err)
	}
}

func TestOpenDirectoryRefusesSymlink(t *testing.T) {
	dir := t.TempDir()
	if err := os.Symlink(".", filepath.Join(dir, "link")); err != nil {
		t.Fatal(err)
	}
	if d, err := OpenDirectory(filepath.Join(dir, "link")); err == nil {
		d.Close()
		t.Fatal("OpenDirectory followed a symlink")
	}
	if d, err := OpenDirectory(os.DevNull); err == nil {
		d.Close()
		t.Fatal("OpenDirectory opened a non-directory")
	}
}
