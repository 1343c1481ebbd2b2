package battery

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/cairn-backup/cairn/internal/clitest"
)

// tmpfs mounts a tmpfs of size (mount's syntax, such as "6m") at a fresh folder and
// unmounts it at the end of t; it skips t where mounting is not allowed (not root, or
// a container without the capability).
func tmpfs(t *testing.T, size string) string {
	dir := filepath.Join(t.TempDir(), "disk")
	if err := os.Mkdir(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	if os.Geteuid() != 0 {
		t.Skip("a full disk needs a small tmpfs mount, which needs root")
	}
	if out, err := exec.Command("mount", "-t", "tmpfs", "-o", "size="+size, "tmpfs", dir).CombinedOutput(); err != nil {
		t.Skipf("a full disk needs a small tmpfs mount, and mount failed: %v %s", err, out)
	}
	t.Cleanup(func() {
		if out, err := exec.Command("umount", dir).CombinedOutput(); err != nil {
			t.Errorf("umount %s: %v %s", dir, err, out)
		}
	})
	return dir
}

// TestFullDisk backs up into a repository on a 6 MiB disk: a source that fits, then
// one that does not. The second backup exits 1 saying "repository full" (the first
// cause, not a cancellation) and makes no snapshot; nothing is lost: the repository
// holds only complete snapshots and the first restores byte for byte. Once the disk
// is grown (space freed), the next backup exits 0, verify --read-data is clean and the
// new snapshot restores byte for byte.
func TestFullDisk(t *testing.T) {
	t.Parallel()
	disk := tmpfs(t, "6m")
	home := clitest.New(t, cairnBin)
	c := home.Through(home.Repo, filepath.Join(disk, "repo"))
	c.OK("init", "--pack-size", "1")
	src := filepath.Join(t.TempDir(), "src")
	clitest.BigRandomFiles(t, filepath.Join(src, "small"), 2, 300<<10, 41)
	first := backupOf(t, c.OK("backup", "--json", "-q", src)).Snapshot
	wantFirst := clitest.TreeState(t, src)
	clitest.BigRandomFiles(t, filepath.Join(src, "big"), 8, 1<<20, 42)
	count(1, 1, 0, 0, 0)
	r := c.Run("backup", src)
	t.Logf("backup onto a full disk: exit %d: %s", r.Code, lastLine(r.Stderr))
	if r.Code != exitFatal || !strings.Contains(r.Stderr, "repository full") || strings.Contains(r.Stderr, "context canceled") {
		t.Fatalf("backup onto a full disk: exit %d, want %d saying \"repository full\" (and no \"context canceled\")\n%s", r.Code, exitFatal, r.Stderr)
	}
	if ids := c.SnapshotIDs(t); len(ids) != 1 || ids[0] != first {
		t.Fatalf("after the failed backup, snapshots %v; want only %s", ids, first)
	}
	c.CheckConsistent(t)
	target := t.TempDir()
	c.OK("restore", first+":"+src, "--target", target)
	clitest.SameState(t, wantFirst, clitest.TreeState(t, target))
	if out, err := exec.Command("mount", "-o", "remount,size=64m", disk).CombinedOutput(); err != nil {
		t.Fatalf("grow the disk: %v %s", err, out)
	}
	want := clitest.TreeState(t, src)
	second := backupOf(t, c.OK("backup", "--json", "-q", src)).Snapshot
	if out := c.OK("verify", "--read-data"); !strings.Contains(out, "no damage found") {
		t.Fatalf("verify --read-data after space was freed:\n%s", out)
	}
	target = t.TempDir()
	c.OK("restore", second+":"+src, "--target", target)
	clitest.SameState(t, want, clitest.TreeState(t, target))
	count(0, 0, 0, 2, 0)
}
