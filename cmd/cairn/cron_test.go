package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// scripts/cron-example runs under cron's environment: a minimal PATH without cairn,
// no variables but what the job sets. It backs up, forgets, prunes and verifies.
func TestCronExampleUnderCronsPath(t *testing.T) {
	c := newCLI(t)
	c.OK("init")
	home := t.TempDir()
	pw := filepath.Join(home, "password")
	if err := os.WriteFile(pw, []byte("correct horse\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	src := filepath.Join(t.TempDir(), "src")
	writeFiles(t, src, map[string]string{"etc/hosts": "127.0.0.1 localhost", "home/ann/notes": "hello"})
	script, err := filepath.Abs("../../scripts/cron-example")
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("/bin/sh", "-c", script)
	cmd.Env = []string{"PATH=/usr/bin:/bin", "HOME=" + home, "SHELL=/bin/sh", "LOGNAME=root",
		"CAIRN=" + cairnBin, "CAIRN_REPO=" + c.Repo, "CAIRN_PASSWORD_FILE=" + pw,
		"CAIRN_BACKUP_PATHS=" + filepath.Join(src, "etc") + " " + filepath.Join(src, "home")}
	r := runCmd(t, cmd)
	if r.Code != 0 {
		t.Fatalf("cron-example: exit %d\n%s%s", r.Code, r.Stdout, r.Stderr)
	}
	for _, want := range []string{"snapshot ", "saved", "verify"} {
		if !strings.Contains(strings.ToLower(r.Stdout), want) {
			t.Errorf("cron-example output lacks %q:\n%s", want, r.Stdout)
		}
	}
	if out := c.OK("snapshots"); !strings.Contains(out, "1 snapshot") {
		t.Errorf("after the nightly job:\n%s", out)
	}
	cmd = exec.Command("/bin/sh", "-c", script)
	cmd.Env = []string{"PATH=/usr/bin:/bin", "HOME=" + home, "CAIRN=" + filepath.Join(home, "nowhere")}
	if r := runCmd(t, cmd); r.Code != 1 || !strings.Contains(r.Stderr, "is not an executable") {
		t.Errorf("without cairn: exit %d\n%s", r.Code, r.Stderr)
	}
}
