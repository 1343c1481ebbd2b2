package job

import (
	"fmt"
	"os"
	"os/exec"
	"strings"
	"testing"

	"github.com/cairn-backup/cairn/internal/profile"
	"golang.org/x/sys/unix"
)

// The profile's nice and ionice levels reach the process (checked in a child, since
// a process cannot lower its nice level again).
func TestPriority(t *testing.T) {
	if os.Getenv("CAIRN_TEST_PRIORITY") == "1" {
		nice := 7
		if err := applyPriority(&profile.Profile{Nice: &nice, IONiceClass: "idle"}); err != nil {
			fmt.Println("error:", err)
			return
		}
		prio, _ := unix.Getpriority(unix.PRIO_PROCESS, 0)
		io, _, _ := unix.Syscall(unix.SYS_IOPRIO_GET, ioprioWhoProcess, 0, 0)
		fmt.Printf("nice=%d ioclass=%d\n", 20-prio, io>>ioprioClassShift)
		return
	}
	cmd := exec.Command(os.Args[0], "-test.run=^TestPriority$")
	cmd.Env = append(os.Environ(), "CAIRN_TEST_PRIORITY=1")
	out, err := cmd.CombinedOutput()
	if err != nil || !strings.Contains(string(out), "nice=7 ioclass=3") {
		t.Fatalf("child: %v: %s", err, out)
	}
}
