package schedule

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestSystemdAnalyzeVerify has systemd check the units it would load: any complaint
// about them (a line naming our files) or a non-zero exit fails. User units are
// checked in system mode: --user needs a running user manager.
func TestSystemdAnalyzeVerify(t *testing.T) {
	tool, err := exec.LookPath("systemd-analyze")
	if err != nil {
		t.Skip("systemd-analyze is not installed (Debian: apt-get install systemd)")
	}
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	// systemd checks that ExecStart's binary exists: point it at this test binary,
	// under a name with a space for the odd spec.
	os.Mkdir(filepath.Join(dir, "cairn tools"), 0o755)
	bin := filepath.Join(dir, "cairn tools", "cairn")
	if err := os.Symlink(self, bin); err != nil {
		t.Fatal(err)
	}
	var files []string
	for _, s := range []Spec{userSpec(), oddSpec()} {
		s.Binary = bin
		base := filepath.Join(dir, UnitName(s.Profile))
		files = append(files, base+".service", base+".timer")
		os.WriteFile(base+".service", Service(s), 0o644)
		os.WriteFile(base+".timer", Timer(s), 0o644)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, tool, append([]string{"verify", "--man=no"}, files...)...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	err = cmd.Run()
	if err != nil && strings.Contains(stderr.String(), "Failed to initialize manager") {
		t.Skipf("systemd-analyze cannot run here: %s", strings.TrimSpace(stderr.String()))
	}
	for _, line := range strings.Split(stderr.String(), "\n") {
		if strings.Contains(line, dir) || strings.Contains(line, "cairn-job-") {
			t.Errorf("systemd-analyze: %s", line)
		}
	}
	if err != nil {
		t.Errorf("systemd-analyze verify: %v\n%s", err, stderr.String())
	}
}
