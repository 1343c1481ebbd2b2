package restore

import (
	"io"
	"strings"
	"testing"
	"time"

	"github.com/cairn-backup/cairn/internal/fsys"
	"golang.org/x/sys/unix"
)

// TestPathLongerThanPathMax backs up and restores a file whose path is longer than the
// kernel takes whole (4,096 bytes): both engines reach it through directory descriptors.
func TestPathLongerThanPathMax(t *testing.T) {
	src := t.TempDir()
	fd, err := unix.Open(src, unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	must(t, err)
	rel := ""
	for i := 0; len(src)+len(rel) <= unix.PathMax+300; i++ {
		name := strings.Repeat(string(rune('a'+i%26)), 250)
		must(t, unix.Mkdirat(fd, name, 0o755))
		next, err := unix.Openat(fd, name, unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
		unix.Close(fd)
		must(t, err)
		fd, rel = next, rel+"/"+name
	}
	file, err := unix.Openat(fd, "deep.txt", unix.O_WRONLY|unix.O_CREAT|unix.O_EXCL|unix.O_CLOEXEC, 0o644)
	must(t, err)
	_, err = unix.Write(file, []byte("at the bottom"))
	unix.Close(file)
	must(t, err)
	must(t, unix.Symlinkat("deep.txt", fd, "link"))
	unix.Close(fd)

	e := newEnv(t)
	id := e.backup(time.Time{}, src) // fails the test if anything was unreadable
	target := t.TempDir()
	e.mustRestore(id, Options{Target: target})
	restored := under(target, src) + rel
	f, err := fsys.OpenFile(restored + "/deep.txt")
	must(t, err)
	data, err := io.ReadAll(f)
	f.Close()
	if err != nil || string(data) != "at the bottom" {
		t.Fatalf("restored deep file: %q, %v", data, err)
	}
	if target, err := fsys.Readlink(restored + "/link"); err != nil || target != "deep.txt" {
		t.Fatalf("restored deep symlink: %q, %v", target, err)
	}
}
