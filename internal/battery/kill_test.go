package battery

import (
	"encoding/json"
	"fmt"
	"github.com/cairn-backup/cairn/internal/clitest"
	"math/rand/v2"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestKilledBackupsLeaveConsistentRepository kills backups with SIGKILL at seeded
// moments: no snapshot may ever refer to missing data, and the next complete backup
// reuses what the killed ones uploaded and indexed.
func TestKilledBackupsLeaveConsistentRepository(t *testing.T) {
	c := clitest.New(t, cairnBin)
	c.OK("init", "--pack-size", "1")
	src := filepath.Join(t.TempDir(), "src")
	clitest.BigRandomFiles(t, src, 40, 1<<20, 11)
	rng := rand.New(rand.NewPCG(seed(t, "backup kills"), 11))
	for range tier(4, 20) {
		cmd := c.Cmd("backup", "--compression", "max", src)
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		time.Sleep(time.Duration(100+rng.IntN(900)) * time.Millisecond)
		_ = cmd.Process.Signal(syscall.SIGKILL)
		count(1, 0, 1, 0, 0)
		_ = cmd.Wait()
		c.CheckConsistent(t)
	}
	if left := packTemps(t, c); len(left) > 0 {
		t.Errorf("the killed runs left %d pack files in the system's temporary folder: %q", len(left), left)
	}
	before := c.IndexedBlobs(t)
	if out := c.OK("snapshots"); !strings.Contains(out, "0 snapshots") {
		t.Logf("a run finished before its kill:\n%s", out)
	}
	var sum backupSummary
	if err := json.Unmarshal([]byte(c.OK("backup", "--json", "-q", src)), &sum); err != nil {
		t.Fatal(err)
	}
	c.CheckConsistent(t)
	if before > 0 && sum.BytesAdded >= sum.BytesTotal {
		t.Fatalf("%d blobs were indexed by killed runs, yet the full backup added %d of %d bytes", before, sum.BytesAdded, sum.BytesTotal)
	}
	t.Logf("killed runs indexed %d blobs; the full backup added %d of %d bytes", before, sum.BytesAdded, sum.BytesTotal)
}

// TestKilledRestoreRerunEqualsSnapshot kills restores with SIGKILL at seeded moments;
// each rerun must finish and leave exactly the snapshot, without temporary files.
func TestKilledRestoreRerunEqualsSnapshot(t *testing.T) {
	c := clitest.New(t, cairnBin)
	c.OK("init", "--pack-size", "4")
	src := filepath.Join(t.TempDir(), "src")
	clitest.BigRandomFiles(t, src, 30, 1<<20, 21)
	small := map[string]string{}
	for i := 0; i < 2000; i++ {
		small[fmt.Sprintf("small/d%02d/f%04d", i%20, i)] = strings.Repeat(string(rune('a'+i%26)), 1+i%700)
	}
	clitest.WriteFiles(t, src, small)
	c.OK("backup", src)
	want := clitest.TreeState(t, src)
	start := time.Now()
	c.OK("restore", "latest:"+src, "--target", t.TempDir())
	full := time.Since(start)
	target := t.TempDir()
	rng := rand.New(rand.NewPCG(seed(t, "restore kills"), 7))
	for range tier(3, 20) {
		cmd := c.Cmd("restore", "latest:"+src, "--target", target)
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		// Between 40 % and 95 % of a full run: past start-up, before the end.
		time.Sleep(full * time.Duration(40+rng.IntN(55)) / 100)
		_ = cmd.Process.Signal(syscall.SIGKILL)
		count(1, 0, 1, 0, 0)
		_ = cmd.Wait()
	}
	sum := restoreSummaryOf(t, c.OK("restore", "latest:"+src, "--target", target, "--json"))
	t.Logf("a full restore takes %s; after the kills, the rerun wrote %d files and found %d unchanged", full, sum.Files, sum.Unchanged)
	if sum.Unchanged == 0 {
		t.Log("no kill landed after a file was put in place")
	}
	clitest.SameState(t, want, clitest.TreeState(t, target))
}

// packTemps returns the files of packs being filled in the user's system temporary
// folder: a local repository fills its packs in its own data folder, so a killed
// backup leaves them there (as `.tmp-` files prune removes), never here.
func packTemps(t *testing.T, c *clitest.CLI) []string {
	t.Helper()
	var tmp string
	for _, kv := range c.Env {
		if v, ok := strings.CutPrefix(kv, "TMPDIR="); ok {
			tmp = v
		}
	}
	if tmp == "" {
		t.Fatal("the user has no TMPDIR")
	}
	left, err := filepath.Glob(filepath.Join(tmp, "cairn-pack-*"))
	if err != nil {
		t.Fatal(err)
	}
	return left
}
