package restore

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"
)

func TestRoundTripEveryKindOfEntry(t *testing.T) {
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
	sameTree(t, src, filepath.Join(target, "src"))
}
