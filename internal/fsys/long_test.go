package fsys

import (
	"io"
	"os"
	"strings"
	"testing"

	"golang.org/x/sys/unix"
)

// longDir makes a chain of directories under root whose path is longer than the kernel
// takes whole, each made relative to the last, and returns that path.
func longDir(t *testing.T, root string) string {
	t.Helper()
	fd, err := unix.Open(root, unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	path := root
	for i := 0; len(path) <= pathMax+100; i++ {
		name := strings.Repeat(string(rune('a'+i%26)), 200)
		if err := unix.Mkdirat(fd, name, 0o755); err != nil {
			t.Fatal(err)
		}
		next, err := unix.Openat(fd, name, unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
		unix.Close(fd)
		if err != nil {
			t.Fatal(err)
		}
		fd, path = next, path+"/"+name
	}
	unix.Close(fd)
	return path
}

func TestPathsLongerThanPathMax(t *testing.T) {
	dir := longDir(t, t.TempDir())
	if _, err := os.Lstat(dir); err == nil {
		t.Skip("this kernel resolves paths longer than PATH_MAX")
	}
	file, link := dir+"/file", dir+"/link"
	f, err := openLong(file, os.O_WRONLY|os.O_CREATE|os.O_EXCL)
	if err != nil {
		t.Fatal(err)
	}
	_, err = f.WriteString("deep content")
	f.Close()
	if err != nil {
		t.Fatal(err)
	}
	if err := at(link, func(dfd int, name string) error { return unix.Symlinkat("file", dfd, name) }); err != nil {
		t.Fatal(err)
	}

	if info, err := Lstat(file); err != nil || info.Kind != Regular || info.Size != 12 {
		t.Fatalf("lstat: %+v %v", info, err)
	}
	r, err := OpenFile(file)
	if err != nil {
		t.Fatal(err)
	}
	data, err := io.ReadAll(r)
	r.Close()
	if err != nil || string(data) != "deep content" {
		t.Fatalf("read %q, %v", data, err)
	}
	if target, err := Readlink(link); err != nil || target != "file" {
		t.Fatalf("readlink %q, %v", target, err)
	}
	if f, err := OpenFile(link); err == nil {
		f.Close()
		t.Fatal("OpenFile followed a symlink at the end of a long path")
	}
	names, err := ReadDirNames(dir)
	if err != nil || strings.Join(names, ",") != "file,link" {
		t.Fatalf("names %v, %v", names, err)
	}
	d, err := OpenDirectory(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	if info, err := d.Lstat("link"); err != nil || info.Kind != Symlink {
		t.Fatalf("lstat in directory: %+v %v", info, err)
	}
	want := []Xattr{{Name: "user.deep", Value: []byte("v")}}
	if err := SetXattrs(file, want); err != nil {
		t.Skipf("no user xattrs here: %v", err)
	}
	if got, err := Xattrs(file); err != nil || len(got) != 1 || string(got[0].Value) != "v" {
		t.Fatalf("xattrs %v, %v", got, err)
	}
	if _, err := Lstat(dir + "/missing"); !os.IsNotExist(err) || !strings.Contains(err.Error(), dir) {
		t.Fatalf("missing entry: %v, want not-exist naming the long path", err)
	}
}
