package restore

import (
	"bytes"
	"crypto/sha256"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/cairn-backup/cairn/internal/fsys"
	"golang.org/x/sys/unix"
)

const sparseHole = 64 << 20

// fixture builds a tree with every kind of entry cairn records. It reports whether
// the file system kept the user xattrs it set.
func fixture(t *testing.T, dir string, seed uint64) (xattrs bool) {
	t.Helper()
	rng := rand.New(rand.NewPCG(seed, seed^0x9e37))
	random := func(n int) []byte {
		b := make([]byte, n)
		for i := range b {
			b[i] = byte(rng.Uint32())
		}
		return b
	}
	files := map[string][]byte{
		"empty": nil, "one": {'x'}, "mib": random(1<<20 + 1), "five": random(5 << 20),
		"a/b/c/deep.txt": []byte("deep"), "secret": []byte("s"), "exec": []byte("#!/bin/sh\n"),
		"\xff\xfeinvalid": []byte("not utf-8"), "new\nline": []byte("nl"), strings.Repeat("n", 255): []byte("long"),
		"h1": random(3000),
	}
	for name, data := range files {
		writeFile(t, filepath.Join(dir, name), data, 0o644)
	}
	must(t, os.Chmod(filepath.Join(dir, "secret"), 0o600))
	must(t, os.Chmod(filepath.Join(dir, "exec"), 0o755))
	must(t, os.MkdirAll(filepath.Join(dir, "emptydir"), 0o755))
	must(t, os.MkdirAll(filepath.Join(dir, "a", "emptysub"), 0o700))
	writeSparse(t, filepath.Join(dir, "sparse"))
	must(t, os.Symlink("one", filepath.Join(dir, "link")))
	must(t, os.Symlink("nowhere/at/all", filepath.Join(dir, "dangling")))
	must(t, os.Symlink("a/b", filepath.Join(dir, "dirlink")))
	must(t, os.Link(filepath.Join(dir, "h1"), filepath.Join(dir, "a", "h2")))
	must(t, os.Link(filepath.Join(dir, "h1"), filepath.Join(dir, "a", "b", "h3")))
	must(t, unix.Mkfifo(filepath.Join(dir, "fifo"), 0o640))
	if os.Geteuid() == 0 {
		must(t, unix.Mknod(filepath.Join(dir, "null"), unix.S_IFCHR|0o666, int(unix.Mkdev(1, 3))))
		must(t, os.MkdirAll(filepath.Join(dir, "sgid"), 0o755))
		must(t, unix.Chmod(filepath.Join(dir, "sgid"), 0o2775))
		writeFile(t, filepath.Join(dir, "suid"), []byte("su"), 0o755)
		must(t, unix.Chmod(filepath.Join(dir, "suid"), 0o4755))
		must(t, os.Lchown(filepath.Join(dir, "one"), 1234, 5678))
		must(t, os.Lchown(filepath.Join(dir, "link"), 2345, 6789))
		must(t, os.Lchown(filepath.Join(dir, "a"), 3456, 7890))
	}
	xattrs = fsys.SetXattrs(filepath.Join(dir, "one"), []fsys.Xattr{{Name: "user.cairn", Value: []byte("v1")}}) == nil &&
		fsys.SetXattrs(filepath.Join(dir, "a"), []fsys.Xattr{{Name: "user.dir", Value: []byte("d")}}) == nil
	if got, _ := fsys.Xattrs(filepath.Join(dir, "one")); len(got) == 0 {
		xattrs = false
	}
	setTimesNS(t, dir, 1_620_000_000_123_456_789)
	return xattrs
}

func writeFile(t *testing.T, p string, data []byte, mode os.FileMode) {
	t.Helper()
	must(t, os.MkdirAll(filepath.Dir(p), 0o755))
	must(t, os.WriteFile(p, data, mode))
}

// writeSparse writes 4 KiB, a 64 MiB hole and 4 KiB.
func writeSparse(t *testing.T, p string) {
	t.Helper()
	f, err := os.Create(p)
	must(t, err)
	defer f.Close()
	_, err = f.Write(bytes.Repeat([]byte("s"), 4096))
	must(t, err)
	_, err = f.WriteAt(bytes.Repeat([]byte("e"), 4096), 4096+sparseHole)
	must(t, err)
}

// setTimesNS gives every entry a distinct mtime with nanoseconds, deepest first.
func setTimesNS(t *testing.T, dir string, base int64) {
	t.Helper()
	var paths []string
	must(t, filepath.Walk(dir, func(p string, _ os.FileInfo, err error) error {
		paths = append(paths, p)
		return err
	}))
	for i := len(paths) - 1; i >= 0; i-- {
		ts := unix.NsecToTimespec(base + int64(i)*1_000_003)
		must(t, unix.UtimesNanoAt(unix.AT_FDCWD, paths[i], []unix.Timespec{ts, ts}, unix.AT_SYMLINK_NOFOLLOW))
	}
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// entryInfo is what a comparison checks of one entry.
type entryInfo struct {
	kind     fsys.Kind
	perm     uint32
	size     int64
	mtime    int64
	uid, gid uint32
	rdev     uint64
	target   string
	sum      [32]byte
	xattrs   string
	ino      uint64
	blocks   int64
}

func describe(t *testing.T, root string) map[string]entryInfo {
	t.Helper()
	out := map[string]entryInfo{}
	must(t, filepath.Walk(root, func(p string, _ os.FileInfo, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, p)
		info, err := fsys.Lstat(p)
		if err != nil {
			return err
		}
		ei := entryInfo{kind: info.Kind, perm: info.Perm, size: info.Size, mtime: info.MTime, uid: info.UID,
			gid: info.GID, rdev: info.Rdev, ino: info.Inode, blocks: info.Blocks}
		switch info.Kind {
		case fsys.Regular:
			ei.sum = fileSum(t, p)
		case fsys.Symlink:
			ei.target, _ = os.Readlink(p)
		case fsys.Dir:
			ei.size = 0
		}
		xs, _ := fsys.Xattrs(p)
		for _, x := range xs {
			ei.xattrs += x.Name + "=" + string(x.Value) + ";"
		}
		out[rel] = ei
		return nil
	}))
	return out
}

func fileSum(t *testing.T, p string) [32]byte {
	f, err := os.Open(p)
	must(t, err)
	defer f.Close()
	h := sha256.New()
	_, err = io.Copy(h, f)
	must(t, err)
	var s [32]byte
	copy(s[:], h.Sum(nil))
	return s
}

// sameTree compares two trees entry by entry: kind, content, mode, mtime to the
// nanosecond, link target, xattrs, and owners (as root).
func sameTree(t *testing.T, src, dst string) {
	t.Helper()
	want, got := describe(t, src), describe(t, dst)
	var names []string
	for p := range want {
		names = append(names, p)
	}
	sort.Strings(names)
	for _, p := range names {
		w, g := want[p], got[p]
		if _, ok := got[p]; !ok {
			t.Errorf("%q: missing", p)
			continue
		}
		if p == "." {
			w.mtime, g.mtime = 0, 0 // the restored top is not compared: src's parent is not it
		}
		if os.Geteuid() != 0 {
			w.uid, w.gid, g.uid, g.gid = 0, 0, 0, 0
		}
		if !sameEntry(w, g) {
			t.Errorf("%q differs:\n got %+v\nwant %+v", p, g, w)
		}
	}
	for p := range got {
		if _, ok := want[p]; !ok {
			t.Errorf("%q: restored but not in the source", p)
		}
	}
}

func sameEntry(w, g entryInfo) bool {
	return w.kind == g.kind && w.perm == g.perm && w.size == g.size && w.mtime == g.mtime &&
		w.uid == g.uid && w.gid == g.gid && w.rdev == g.rdev && w.target == g.target && w.sum == g.sum &&
		w.xattrs == g.xattrs
}

// checkLinksAndHoles checks the fixture's hard-link group and sparse file.
func checkLinksAndHoles(t *testing.T, root string) {
	t.Helper()
	got := describe(t, root)
	links := []string{"h1", "a/h2", "a/b/h3"}
	inos := map[uint64]bool{}
	for _, l := range links {
		inos[got[l].ino] = true
	}
	if len(inos) != 1 || inos[0] {
		t.Errorf("hard links %v restored as %d inodes", links, len(inos))
	}
	if sp := got["sparse"]; sp.blocks*512 > sp.size/4 {
		t.Errorf("sparse file: %d bytes allocated for %d", sp.blocks*512, sp.size)
	}
}
