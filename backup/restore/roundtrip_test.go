package restore

import (
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestRoundTripEveryKindOfEntry(t *testing.T) {
	t.Run("unnamed temporary files", testRoundTrip)
	t.Run("named temporary files", func(t *testing.T) {
		namedTempsOnly = true
		defer func() { namedTempsOnly = false }()
		testRoundTrip(t)
	})
}

func testRoundTrip(t *testing.T) {
	e := newEnv(t)
	src := filepath.Join(t.TempDir(), "src")
	xattrs := fixture(t, src, 1)
	if !xattrs {
		t.Log("the test folder's file system keeps no user xattrs: not compared")
	}
	id := e.backup(time.Time{}, src)
	target := t.TempDir()
	special := os.Geteuid() == 0
	res := e.mustRestore(id, Options{Target: target, Owner: special, Special: special})
	sameTree(t, src, under(target, src))
	checkLinksAndHoles(t, under(target, src))
	if res.Files == 0 || res.Links != 2 || res.Symlinks != 3 || res.Bytes >= sparseHole {
		t.Errorf("result %+v", res)
	}
	again := e.mustRestore(id, Options{Target: target, Owner: special, Special: special})
	if again.Files != 0 || again.Bytes != 0 || again.Unchanged == 0 {
		t.Errorf("second restore into the same target rewrote files: %+v", again)
	}
	sameTree(t, src, under(target, src))
}

// TestMoreDirectoriesThanOpenDescriptors restores more directories than the cache of
// open directory descriptors holds, so that descriptors are closed and reopened.
func TestMoreDirectoriesThanOpenDescriptors(t *testing.T) {
	e := newEnv(t)
	src := filepath.Join(t.TempDir(), "src")
	for i := 0; i < maxDirFDs+200; i++ {
		writeFile(t, filepath.Join(src, fmt.Sprintf("d%d/e%d", i%40, i), "f"), []byte(fmt.Sprint(i)), 0o644)
	}
	id := e.backup(time.Time{}, src)
	target := t.TempDir()
	e.mustRestore(id, Options{Target: target, Path: src})
	sameTree(t, src, target)
}

// TestSpecialOnlyWhenAsked restores without Owner and Special, as a user restores:
// no setuid or setgid bit, no device, sockets skipped with a note, owners not set.
func TestSpecialOnlyWhenAsked(t *testing.T) {
	e := newEnv(t)
	src := filepath.Join(t.TempDir(), "src")
	fixture(t, src, 3)
	l, err := net.Listen("unix", filepath.Join(src, "sock"))
	must(t, err)
	defer l.Close()
	id := e.backup(time.Time{}, src)
	target := t.TempDir()
	res := e.mustRestore(id, Options{Target: target})
	got := describe(t, under(target, src))
	if _, ok := got["sock"]; ok {
		t.Error("a socket was restored")
	}
	notes := fmt.Sprint(res.Notes)
	if !strings.Contains(notes, "/sock: socket not restored") {
		t.Errorf("notes %s", notes)
	}
	if os.Geteuid() != 0 {
		return // the fixture has no setuid file, device or foreign owner
	}
	if _, ok := got["null"]; ok || !strings.Contains(notes, "/null: device not restored") {
		t.Errorf("a device was restored without Special (notes %s)", notes)
	}
	if got["suid"].perm != 0o755 || got["sgid"].perm != 0o775 {
		t.Errorf("setuid/setgid bits restored without Special: %o %o", got["suid"].perm, got["sgid"].perm)
	}
	if got["one"].uid != 0 || got["a"].gid != 0 {
		t.Errorf("owners restored without Owner: %d %d", got["one"].uid, got["a"].gid)
	}
}
