package battery

import (
	"encoding/json"
	"github.com/cairn-backup/cairn/internal/clitest"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// A backup suspended (SIGSTOP) across two prunes, the first marking data the backup
// reuses and the second deleting it, then resumed: it either makes a complete
// snapshot or exits 1 with none; never a snapshot pointing at deleted data.
func TestBackupStoppedAcrossTwoPrunes(t *testing.T) {
	c := clitest.New(t, cairnBin)
	c.OK("init", "--pack-size", "1")
	dir := t.TempDir()
	other, a, b := filepath.Join(dir, "other"), filepath.Join(dir, "a"), filepath.Join(dir, "b")
	clitest.WriteFiles(t, other, map[string]string{"keep": "kept all along"})
	c.OK("backup", "-q", other)
	clitest.BigRandomFiles(t, a, 3, 700<<10, 31)
	var s1 backupSummary
	if err := json.Unmarshal([]byte(c.OK("backup", "--json", "-q", a)), &s1); err != nil {
		t.Fatal(err)
	}
	c.OK("forget", "--allow-empty", s1.Snapshot) // a's packs are now unneeded
	// b holds a's files again, which the backup takes from a's packs, and a large file
	// that keeps it busy.
	clitest.BigRandomFiles(t, filepath.Join(b, "z"), 24, 1<<20, 32)
	if out, err := exec.Command("cp", "-a", a, filepath.Join(b, "a")).CombinedOutput(); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	want := clitest.TreeState(t, b)
	backup := stopBackup(t, c, b) // the index is loaded: it is uploading b's data
	if snaps := c.SnapshotIDs(t); len(snaps) != 1 {
		t.Fatalf("the backup finished before it was stopped: %v", snaps)
	}
	p1 := pruneJSONOut(t, c.OK("prune", "--grace", "10s", "--json"))
	if p1.PacksMarked == 0 || p1.AtOnce || p1.PacksDeleted != 0 {
		t.Fatalf("first prune with a backup running: %+v, want a's packs marked and nothing deleted", p1)
	}
	age(t, c) // the grace period passes; the stopped backup's note is stale
	p2 := pruneJSONOut(t, c.OK("prune", "--grace", "10s", "--json"))
	if p2.PacksDeleted == 0 {
		t.Fatalf("second prune, after the grace period: %+v, want a's packs deleted", p2)
	}
	backup.resumeAndJudge(t, c, b, want)
	// The next backup stores a's data again and restores.
	var sum backupSummary
	if err := json.Unmarshal([]byte(c.OK("backup", "--json", "-q", b)), &sum); err != nil {
		t.Fatal(err)
	}
	checkKept(t, c, b, map[string]map[string]string{sum.Snapshot: want})
}

// stoppedBackup is a backup process stopped (SIGSTOP) while it uploads.
type stoppedBackup struct {
	cmd       *exec.Cmd
	out, errb strings.Builder
}

// stopBackup starts a backup of src and stops it once it has stored two packs.
func stopBackup(t *testing.T, c *clitest.CLI, src string) *stoppedBackup {
	t.Helper()
	before := len(packFiles(t, c.Repo))
	b := &stoppedBackup{cmd: c.Cmd("backup", "--compression", "max", "--json", "-q", src)}
	b.cmd.Stdout, b.cmd.Stderr = &b.out, &b.errb
	if err := b.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	waitForPacks(t, c.Repo, before+2)
	if err := b.cmd.Process.Signal(syscall.SIGSTOP); err != nil {
		t.Fatal(err)
	}
	return b
}

// resumeAndJudge continues the stopped backup and checks that it ended as the protocol
// allows: a snapshot of src that restores as want (exit 0), or none (exit 1) with a
// repository that verifies clean; never a snapshot pointing at a deleted pack.
func (b *stoppedBackup) resumeAndJudge(t *testing.T, c *clitest.CLI, src string, want map[string]string) {
	t.Helper()
	if err := b.cmd.Process.Signal(syscall.SIGCONT); err != nil {
		t.Fatal(err)
	}
	err := b.cmd.Wait()
	code := b.cmd.ProcessState.ExitCode()
	t.Logf("resumed backup: exit %d (%v)\n%s", code, err, b.errb.String())
	switch code {
	case 0:
		var sum backupSummary
		if err := json.Unmarshal([]byte(b.out.String()), &sum); err != nil {
			t.Fatalf("%v\n%s", err, b.out.String())
		}
		checkKept(t, c, src, map[string]map[string]string{sum.Snapshot: want})
	case exitFatal:
		if snaps := c.SnapshotIDs(t); len(snaps) != 1 {
			t.Fatalf("the backup exited 1 but left a snapshot: %v", snaps)
		}
		c.OK("verify", "--read-data")
	default:
		t.Fatalf("resumed backup: exit %d, want 0 or 1", code)
	}
}

func packFiles(t *testing.T, repo string) []string {
	t.Helper()
	packs, err := filepath.Glob(filepath.Join(repo, "data", "*", "*"))
	if err != nil {
		t.Fatal(err)
	}
	return packs
}

// waitForPacks waits until the local repository holds n packs.
func waitForPacks(t *testing.T, repo string, n int) {
	t.Helper()
	for deadline := time.Now().Add(60 * time.Second); time.Now().Before(deadline); time.Sleep(5 * time.Millisecond) {
		if len(packFiles(t, repo)) >= n {
			return
		}
	}
	t.Fatalf("fewer than %d packs stored within 60 s", n)
}

// A backup suspended after uploading packs of new data, long enough that a prune takes
// them for a crashed run's leftovers and deletes them (its run note is stale, so at
// once), then resumed: it must not leave a snapshot that points into its own deleted
// packs, nor an index segment that names them (every later prune would refuse to run,
// and verify would report damage).
func TestBackupStoppedWhileItsOwnPacksArePruned(t *testing.T) {
	c := clitest.New(t, cairnBin)
	c.OK("init", "--pack-size", "1")
	dir := t.TempDir()
	other, b := filepath.Join(dir, "other"), filepath.Join(dir, "b")
	clitest.WriteFiles(t, other, map[string]string{"keep": "kept all along"})
	c.OK("backup", "-q", other)
	clitest.BigRandomFiles(t, b, 24, 1<<20, 33)
	want := clitest.TreeState(t, b)
	backup := stopBackup(t, c, b)
	// Its note and its packs become older than the grace period by the storage's
	// clock, not by the backup's: it does not look for them again before its index
	// segment names them, as when a prune deletes them just after that look.
	ageDirs(t, c, "locks", "data/*")
	p := pruneJSONOut(t, c.OK("prune", "--grace", "10s", "--json"))
	if p.PacksDeleted == 0 {
		t.Fatalf("prune with the backup stopped: %+v, want its packs deleted", p)
	}
	backup.resumeAndJudge(t, c, b, want)
	c.OK("prune", "--grace", "10s")
	var sum backupSummary
	if err := json.Unmarshal([]byte(c.OK("backup", "--json", "-q", b)), &sum); err != nil {
		t.Fatal(err)
	}
	checkKept(t, c, b, map[string]map[string]string{sum.Snapshot: want})
}
