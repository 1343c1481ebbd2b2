package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// An interrupted backup keeps what it uploaded: Ctrl-C half way through 20 MiB, and
// the rerun stores markedly less than all of it. (With packs of 16 MiB nothing was
// uploaded yet at the interrupt, and the open packs used to be dropped.)
func TestInterruptedBackupKeepsItsWork(t *testing.T) {
	if _, err := os.Stat("/proc/self/io"); err != nil {
		t.Skip("needs /proc/PID/io to interrupt at a known point")
	}
	c := newCLI(t)
	c.OK("init")
	src := filepath.Join(t.TempDir(), "src")
	const total = 20 << 20
	bigRandomFiles(t, src, 10, total/10, 16)
	cmd := c.Cmd("backup", "--compression", "max", src)
	var errb strings.Builder
	cmd.Stderr = &errb
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	read := waitForRead(t, cmd.Process.Pid, total/2)
	_ = cmd.Process.Signal(syscall.SIGINT)
	err := cmd.Wait()
	if code := cmd.ProcessState.ExitCode(); code != exitInterrupted || !strings.Contains(errb.String(), "interrupted") {
		t.Fatalf("interrupted backup: exit %d (%v), want %d\n%s", code, err, exitInterrupted, errb.String())
	}
	checkConsistent(t, c)
	var sum backupSummary
	if err := json.Unmarshal([]byte(c.OK("backup", "--json", "-q", src)), &sum); err != nil {
		t.Fatal(err)
	}
	t.Logf("interrupted after reading %d bytes; the rerun added %d of %d", read, sum.BytesAdded, sum.BytesTotal)
	if sum.BytesAdded > total*3/4 {
		t.Fatalf("the rerun added %d of %d bytes: the interrupted run's uploads were lost", sum.BytesAdded, sum.BytesTotal)
	}
	checkConsistent(t, c)
	c.CheckContent(t, src)
}

// waitForRead polls the bytes process pid has read until it reaches n, and returns them.
func waitForRead(t *testing.T, pid int, n int64) int64 {
	t.Helper()
	deadline := time.Now().Add(time.Minute)
	for time.Now().Before(deadline) {
		data, err := os.ReadFile(fmt.Sprintf("/proc/%d/io", pid))
		if err != nil {
			t.Fatalf("the backup ended before it had read %d bytes: %v", n, err)
		}
		for _, line := range strings.Split(string(data), "\n") {
			if v, ok := strings.CutPrefix(line, "rchar: "); ok {
				if got, _ := strconv.ParseInt(v, 10, 64); got >= n {
					return got
				}
			}
		}
		time.Sleep(5 * time.Millisecond)
	}
	t.Fatal("the backup read too little in a minute")
	return 0
}
