package archive

import (
	"context"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/cairn-backup/cairn/internal/fsys"
	"github.com/cairn-backup/cairn/manifest"
	"golang.org/x/sys/unix"
)

func TestSpecialFilesAndOddNames(t *testing.T) {
	e := newEnv(t)
	src := filepath.Join(t.TempDir(), "src")
	if err := os.MkdirAll(src, 0o755); err != nil {
		t.Fatal(err)
	}
	odd := []string{"new\nline", "\xff\xfeinvalid", strings.Repeat("n", 255), "-dash", " space ", "tab\there"}
	want := map[string]manifest.Type{}
	for _, name := range odd {
		if err := os.WriteFile(filepath.Join(src, name), []byte(name), 0o600); err != nil {
			t.Fatal(err)
		}
		want[name] = manifest.File
	}
	if err := unix.Mkfifo(filepath.Join(src, "fifo"), 0o600); err != nil {
		t.Fatal(err)
	}
	want["fifo"] = manifest.FIFO
	l, err := net.Listen("unix", filepath.Join(src, "sock"))
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	want["sock"] = manifest.Socket
	if os.Geteuid() == 0 {
		if err := unix.Mknod(filepath.Join(src, "null"), unix.S_IFCHR|0o600, int(unix.Mkdev(1, 3))); err != nil {
			t.Fatal(err)
		}
		want["null"] = manifest.CharDev
	}
	if err := os.Link(filepath.Join(src, "-dash"), filepath.Join(src, "hardlink")); err != nil {
		t.Fatal(err)
	}
	want["hardlink"] = manifest.File
	xattrs := fsys.SetXattrs(filepath.Join(src, "-dash"), []fsys.Xattr{{Name: "user.cairn", Value: []byte("v")}}) == nil

	res, _ := e.backup(Options{Paths: []string{src}})
	if len(res.Unreadable) != 0 {
		t.Fatalf("unreadable: %v (a FIFO must never be opened)", res.Unreadable)
	}
	r := e.open()
	s := snapshotTree(t, r, res.Snapshot)
	got := map[string]*manifest.Entry{}
	err = manifest.Walk(context.Background(), r, s.Tree, s.Root, func(p string, en *manifest.Entry) error {
		if filepath.Dir("/"+p) == src {
			c := *en
			got[en.Name] = &c
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	for name, typ := range want {
		if got[name] == nil || got[name].Type != typ {
			t.Errorf("%q: got %+v, want type %v", name, got[name], typ)
		}
	}
	if dash, link := got["-dash"], got["hardlink"]; dash.Content != link.Content || dash.Nlink != 2 || dash.Inode != link.Inode {
		t.Errorf("hard links differ: %+v vs %+v", dash, link)
	}
	if os.Geteuid() == 0 && got["null"].Rdev != unix.Mkdev(1, 3) {
		t.Errorf("device number %x", got["null"].Rdev)
	}
	if xattrs && (len(got["-dash"].Xattrs) != 1 || string(got["-dash"].Xattrs[0].Value) != "v") {
		t.Errorf("xattrs %+v", got["-dash"].Xattrs)
	}
}

func TestExcludes(t *testing.T) {
	e := newEnv(t)
	src := filepath.Join(t.TempDir(), "src")
	for _, p := range []string{"keep.txt", "skip.log", "cache/CACHEDIR.TAG", "cache/big", "deep/skipdir/x", "deep/keep"} {
		full := filepath.Join(src, p)
		if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
			t.Fatal(err)
		}
		content := "x"
		if filepath.Base(p) == "CACHEDIR.TAG" {
			content = cacheTagSignature + "\n"
		}
		if err := os.WriteFile(full, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	res, _ := e.backup(Options{Paths: []string{src}, Excludes: []string{"*.log", src + "/deep/skipdir"}, ExcludeCaches: true})
	r := e.open()
	s := snapshotTree(t, r, res.Snapshot)
	var seen []string
	_ = manifest.Walk(context.Background(), r, s.Tree, s.Root, func(p string, _ *manifest.Entry) error {
		if strings.HasPrefix("/"+p, src+"/") {
			seen = append(seen, strings.TrimPrefix("/"+p, src+"/"))
		}
		return nil
	})
	got := strings.Join(seen, ",")
	if want := "cache,cache/CACHEDIR.TAG,deep,deep/keep,keep.txt"; got != want {
		t.Fatalf("backed up %s, want %s", got, want)
	}
}

// TestXattrChangeSeen: entries unchanged since the parent reuse its xattrs without
// reading them, which is sound only because setting an xattr moves ctime.
func TestXattrChangeSeen(t *testing.T) {
	e := newEnv(t)
	src := filepath.Join(t.TempDir(), "src")
	if err := os.MkdirAll(src, 0o755); err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(src, "f")
	if err := os.WriteFile(file, []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	e.backup(Options{Paths: []string{src}})
	if err := fsys.SetXattrs(file, []fsys.Xattr{{Name: "user.later", Value: []byte("1")}}); err != nil {
		t.Skip("no user xattrs here")
	}
	if xs, _ := fsys.Xattrs(file); len(xs) == 0 {
		t.Skip("no user xattrs here")
	}
	res, _ := e.backup(Options{Paths: []string{src}})
	r := e.open()
	s := snapshotTree(t, r, res.Snapshot)
	var got []manifest.Xattr
	_ = manifest.Walk(context.Background(), r, s.Tree, s.Root, func(p string, en *manifest.Entry) error {
		if "/"+p == file {
			got = en.Xattrs
		}
		return nil
	})
	if len(got) != 1 || got[0].Name != "user.later" {
		t.Fatalf("xattr added after the first backup not recorded: %+v", got)
	}
}
