package fsys

import (
	"bytes"
	"net"
	"os"
	"path/filepath"
	"testing"

	"golang.org/x/sys/unix"
)

func TestLstatKinds(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "file")
	if err := os.WriteFile(file, []byte("hello"), 0o640); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("file", filepath.Join(dir, "link")); err != nil {
		t.Fatal(err)
	}
	if err := unix.Mkfifo(filepath.Join(dir, "fifo"), 0o600); err != nil {
		t.Fatal(err)
	}
	l, err := net.Listen("unix", filepath.Join(dir, "sock"))
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	want := map[string]Kind{"file": Regular, "link": Symlink, "fifo": FIFO, "sock": Socket, ".": Dir}
	if os.Geteuid() == 0 {
		if err := unix.Mknod(filepath.Join(dir, "null"), unix.S_IFCHR|0o600, int(unix.Mkdev(1, 3))); err != nil {
			t.Fatal(err)
		}
		want["null"] = CharDev
	}
	for name, kind := range want {
		info, err := Lstat(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		if info.Kind != kind {
			t.Errorf("%s: kind %d, want %d", name, info.Kind, kind)
		}
	}
	info, _ := Lstat(file)
	if info.Size != 5 || info.Perm != 0o640 || info.Nlink != 1 || info.MTime == 0 || info.CTime == 0 || info.Inode == 0 {
		t.Errorf("file info %+v", info)
	}
	if target, err := Readlink(filepath.Join(dir, "link")); err != nil || target != "file" {
		t.Errorf("Readlink = %q, %v", target, err)
	}
	if os.Geteuid() == 0 {
		if info, _ := Lstat(filepath.Join(dir, "null")); info.Rdev != unix.Mkdev(1, 3) {
			t.Errorf("rdev = %x", info.Rdev)
		}
	}
}

func TestReadDirNamesRawAndSorted(t *testing.T) {
	dir := t.TempDir()
	names := []string{"b", "a\nnewline", "-dash", "\xff\xfe", string(bytes.Repeat([]byte("x"), 255))}
	for _, n := range names {
		if err := os.WriteFile(filepath.Join(dir, n), nil, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	got, err := ReadDirNames(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != len(names) {
		t.Fatalf("got %q", got)
	}
	for i := 1; i < len(got); i++ {
		if got[i-1] >= got[i] {
			t.Fatalf("not sorted: %q", got)
		}
	}
}

func TestXattrsRoundTrip(t *testing.T) {
	file := filepath.Join(t.TempDir(), "f")
	if err := os.WriteFile(file, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	want := []Xattr{{"user.a", []byte("1")}, {"user.big", bytes.Repeat([]byte("v"), 3000)}, {"user.empty", []byte{}}}
	if err := SetXattrs(file, want); err != nil {
		t.Fatal(err)
	}
	got, err := Xattrs(file)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) == 0 {
		t.Skip("the test folder's file system keeps no user xattrs")
	}
	if len(got) != len(want) {
		t.Fatalf("got %d xattrs, want %d", len(got), len(want))
	}
	for i := range want {
		if got[i].Name != want[i].Name || !bytes.Equal(got[i].Value, want[i].Value) {
			t.Fatalf("xattr %d = %q, want %q", i, got[i].Name, want[i].Name)
		}
	}
}

func TestSparse(t *testing.T) {
	file := filepath.Join(t.TempDir(), "sparse")
	f, err := os.Create(file)
	if err != nil {
		t.Fatal(err)
	}
	if err := f.Truncate(64 << 20); err != nil {
		t.Fatal(err)
	}
	f.Close()
	info, _ := Lstat(file)
	if !info.Sparse() {
		t.Fatalf("64 MiB hole not seen as sparse: %+v", info)
	}
}

func TestOpenFileRefusesSymlink(t *testing.T) {
	dir := t.TempDir()
	_ = os.WriteFile(filepath.Join(dir, "f"), nil, 0o600)
	_ = os.Symlink("f", filepath.Join(dir, "l"))
	if f, err := OpenFile(filepath.Join(dir, "l")); err == nil {
		f.Close()
		t.Fatal("OpenFile followed a symlink")
	}
	f, err := OpenFile(filepath.Join(dir, "f"))
	if err != nil {
		t.Fatal(err)
	}
	f.Close()
}
