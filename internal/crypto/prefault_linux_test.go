package crypto

import (
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"

	"golang.org/x/sys/unix"
)

// TestKDFTakesHugePages: where the system hands out huge pages on request, the first
// derivation of a process faults its 46 MiB in as huge pages, a small fraction of the
// 12,000 faults of 4 KiB pages (the derivation's cost on small virtual machines).
func TestKDFTakesHugePages(t *testing.T) {
	if os.Getenv("CAIRN_TEST_KDF_CHILD") != "" {
		kdfChild()
		return
	}
	mode, err := os.ReadFile("/sys/kernel/mm/transparent_hugepage/enabled")
	if err != nil || strings.Contains(string(mode), "[never]") {
		t.Skip("no transparent huge pages on this system")
	}
	huge, plain := kdfFaults(t, ""), kdfFaults(t, "1")
	t.Logf("page faults of one derivation: %d with huge pages asked for, %d without", huge, plain)
	// 46 MiB in 4 KiB pages is 11,776 faults; huge pages must save most of them. The
	// difference, not the ratio, is compared: the race detector's shadow memory adds
	// faults of its own to both runs.
	if saved := plain - huge; saved < 6000 {
		t.Fatalf("a derivation took %d page faults with huge pages asked for, %d without: %d saved, want 6,000 or more", huge, plain, saved)
	}
}

// kdfFaults runs one default derivation in a fresh process (the prefault path runs
// once per process) and returns the page faults it took.
func kdfFaults(t *testing.T, noHuge string) int64 {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^TestKDFTakesHugePages$")
	cmd.Env = append(os.Environ(), "CAIRN_TEST_KDF_CHILD=1", "CAIRN_TEST_NO_HUGE_KDF="+noHuge)
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("child: %v", err)
	}
	for _, line := range strings.Split(string(out), "\n") {
		if v, ok := strings.CutPrefix(line, "faults "); ok {
			n, err := strconv.ParseInt(v, 10, 64)
			if err != nil {
				t.Fatal(err)
			}
			return n
		}
	}
	t.Fatalf("child printed no fault count: %q", out)
	return 0
}

func kdfChild() {
	var before, after unix.Rusage
	p := DefaultKDF()
	_ = unix.Getrusage(unix.RUSAGE_SELF, &before)
	p.derive([]byte("pw"))
	_ = unix.Getrusage(unix.RUSAGE_SELF, &after)
	os.Stdout.WriteString("faults " + strconv.FormatInt(after.Minflt-before.Minflt, 10) + "\n")
}
