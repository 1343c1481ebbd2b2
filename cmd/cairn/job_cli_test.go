package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/cairn-backup/cairn/internal/monitor"
	"github.com/cairn-backup/cairn/remote/s3/s3test"
)

// jobEnv is a user with a repository, a source tree and a profile file.
type jobEnv struct {
	*cli
	src, dir, config string
}

func newJobEnv(t *testing.T, c *cli) *jobEnv {
	c.OK("init")
	dir := t.TempDir()
	e := &jobEnv{cli: c, src: filepath.Join(dir, "src"), dir: dir, config: filepath.Join(dir, "profiles.toml")}
	writeFiles(t, e.src, map[string]string{"a": "alpha", "d/b": "beta"})
	if err := os.WriteFile(filepath.Join(dir, "password"), []byte("correct horse\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	return e
}

// profile writes the profile "nightly" with extra keys and tables after the basics.
func (e *jobEnv) profile(extra string) {
	text := fmt.Sprintf("[nightly]\nrepository = %q\npassword-file = %q\npaths = [%q]\n%s",
		e.Repo, filepath.Join(e.dir, "password"), e.src, extra)
	if err := os.WriteFile(e.config, []byte(text), 0o644); err != nil {
		e.T.Fatal(err)
	}
}

func (e *jobEnv) job(args ...string) (monitor.Run, result) {
	e.T.Helper()
	res := e.Run(append([]string{"job", "--config", e.config, "--json"}, args...)...)
	var r monitor.Run
	if err := json.Unmarshal([]byte(res.Stdout), &r); err != nil {
		e.T.Fatalf("job %v: exit %d, no run on stdout: %v\n%s\n%s", args, res.Code, err, res.Stdout, res.Stderr)
	}
	if r.ExitCode != res.Code {
		e.T.Errorf("run says exit %d, the process exited %d", r.ExitCode, res.Code)
	}
	return r, res
}

const fullJob = `prune = "daily"
[nightly.retention]
keep-last = 2
[nightly.verify]
since-last = true
read-data-days = 3
[nightly.hooks]
before = ["echo dump > %[1]s/dump.sql"]
after-success = ["echo $CAIRN_JOB_EXIT_CODE > %[1]s/done"]
`

func testFullJob(t *testing.T, e *jobEnv) {
	e.profile(fmt.Sprintf(fullJob, e.src))
	first, _ := e.job("run", "nightly")
	if first.ExitCode != 0 || !first.Pruned || first.Verify != "ok" || first.SnapshotID == "" || first.Files != 3 {
		t.Fatalf("first run: %+v", first)
	}
	if b, _ := os.ReadFile(filepath.Join(e.src, "done")); string(b) != "0\n" {
		t.Errorf("after-success hook: %q", b)
	}
	// The first run read slice 1 of 3: status and check name the next one.
	if out := e.OK("job", "--config", e.config, "status", "nightly"); !strings.Contains(out, "verify slice: every run, next 2/3") {
		t.Errorf("status after one run:\n%s", out)
	}
	if out := e.OK("job", "--config", e.config, "check", "nightly"); !strings.Contains(out, "next slice 2/3") ||
		!strings.Contains(out, "every 1d (next after") {
		t.Errorf("check after one run:\n%s", out)
	}
	for i := 0; i < 2; i++ {
		writeFiles(t, e.src, map[string]string{"d/b": fmt.Sprint("beta ", i)})
		r, _ := e.job("run", "nightly")
		if r.ExitCode != 0 || r.Pruned || r.Verify != "ok" || r.Snapshots != 2 || r.RepoSize <= 0 {
			t.Fatalf("run %d: %+v", i+2, r)
		}
	}
	if out := e.OK("snapshots"); !strings.Contains(out, "2 snapshots") {
		t.Errorf("retention kept:\n%s", out)
	}
	checkConsistent(t, e.cli)
	e.CheckContent(t, e.src)
}

// A full job on a local repository: hooks, backup, forget, prune (due once a day),
// the verify slice.
func TestJobRunLocal(t *testing.T) {
	testFullJob(t, newJobEnv(t, newCLI(t)))
}

func TestJobRunS3(t *testing.T) {
	srv := s3test.Need(t)
	testFullJob(t, newJobEnv(t, newS3CLI(t, srv, srv.Endpoint)))
}

// A failing before-hook: no backup, exit 1, the hook's output in the run's error;
// the after-failure hook runs.
func TestJobBeforeHookFails(t *testing.T) {
	e := newJobEnv(t, newCLI(t))
	e.profile(fmt.Sprintf("[nightly.hooks]\nbefore = [\"echo 'pg_dump: connection refused' >&2; exit 2\"]\nafter-failure = [\"touch %s/failed\"]\n", e.dir))
	r, res := e.job("run", "nightly")
	if r.ExitCode != 1 || !strings.Contains(r.Error, "pg_dump: connection refused") || r.SnapshotID != "" {
		t.Fatalf("run: %+v", r)
	}
	if !strings.Contains(res.Stderr, "pg_dump: connection refused") {
		t.Errorf("the hook's output is not in the log:\n%s", res.Stderr)
	}
	if out := e.OK("snapshots"); !strings.Contains(out, "0 snapshots") && strings.Contains(out, e.src) {
		t.Errorf("a snapshot was made:\n%s", out)
	}
	if _, err := os.Stat(filepath.Join(e.dir, "failed")); err != nil {
		t.Errorf("after-failure hook did not run: %v", err)
	}
}

// A failing backup: its exit code is the job's, and the after-failure hook runs.
func TestJobBackupFails(t *testing.T) {
	e := newJobEnv(t, newCLI(t))
	hooks := fmt.Sprintf("[nightly.hooks]\nafter-failure = [\"echo $CAIRN_JOB_EXIT_CODE > %s/failed\"]\n", e.dir)
	e.profile(hooks)
	if err := os.WriteFile(filepath.Join(e.dir, "password"), []byte("wrong\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	r, _ := e.job("run", "nightly")
	if r.ExitCode != exitWrongPass {
		t.Fatalf("wrong password: %+v", r)
	}
	if b, _ := os.ReadFile(filepath.Join(e.dir, "failed")); string(b) != "12\n" {
		t.Errorf("after-failure hook saw %q", b)
	}
	_ = os.WriteFile(filepath.Join(e.dir, "password"), []byte("correct horse\n"), 0o600)
	e.src = filepath.Join(e.dir, "missing")
	e.profile(hooks)
	r, _ = e.job("run", "nightly")
	if r.ExitCode == 0 || r.Steps[1].Name != "backup" || r.Steps[1].ExitCode != r.ExitCode {
		t.Fatalf("backup of a missing path: %+v", r)
	}
}

// Two overlapping runs: the second exits 11 at once; with --wait it waits.
func TestJobOverlap(t *testing.T) {
	e := newJobEnv(t, newCLI(t))
	e.profile("[nightly.hooks]\nbefore = [\"sleep 2\"]\n")
	first := e.Cmd("job", "--config", e.config, "run", "nightly")
	if err := first.Start(); err != nil {
		t.Fatal(err)
	}
	time.Sleep(700 * time.Millisecond)
	start := time.Now()
	r, res := e.job("run", "nightly")
	if r.ExitCode != exitLocked || time.Since(start) > 1500*time.Millisecond || !strings.Contains(res.Stderr, "in progress") {
		t.Fatalf("second run: exit %d after %s: %s", r.ExitCode, time.Since(start), res.Stderr)
	}
	r, _ = e.job("run", "nightly", "--wait")
	if r.ExitCode != 0 {
		t.Fatalf("--wait: %+v", r)
	}
	if err := first.Wait(); err != nil {
		t.Fatalf("first run: %v", err)
	}
}

// Profile errors name the file, the line and the key; a world-readable password is
// refused; check opens the repository and writes nothing.
func TestJobCheck(t *testing.T) {
	e := newJobEnv(t, newCLI(t))
	e.profile("[nightly.retention]\nkeep-daly = 7\n")
	res := e.Run("job", "--config", e.config, "check", "nightly")
	if res.Code != 1 || !strings.Contains(res.Stderr, e.config+":6: unknown key nightly.retention.keep-daly") {
		t.Errorf("typo: exit %d: %s", res.Code, res.Stderr)
	}
	text := fmt.Sprintf("[nightly]\nrepository = %q\npassword = \"correct horse\"\npaths = [%q]\n", e.Repo, e.src)
	_ = os.WriteFile(e.config, []byte(text), 0o644)
	res = e.Run("job", "--config", e.config, "check", "nightly")
	if res.Code != 1 || !strings.Contains(res.Stderr, ":3: nightly.password") || !strings.Contains(res.Stderr, "chmod 600") {
		t.Errorf("world-readable password: exit %d: %s", res.Code, res.Stderr)
	}
	_ = os.Chmod(e.config, 0o600)
	before := listTree(t, e.Repo)
	out := e.OK("job", "--config", e.config, "check", "nightly")
	if !strings.Contains(out, "opened, 0 snapshots") || !strings.Contains(out, "prune:       never") {
		t.Errorf("check:\n%s", out)
	}
	if after := listTree(t, e.Repo); after != before {
		t.Errorf("check changed the repository:\n%s\n---\n%s", before, after)
	}
}

func listTree(t *testing.T, dir string) string {
	var b strings.Builder
	_ = filepath.Walk(dir, func(p string, fi os.FileInfo, err error) error {
		if err == nil {
			fmt.Fprintf(&b, "%s %d %s\n", p, fi.Size(), fi.ModTime())
		}
		return nil
	})
	return b.String()
}

// The job's own overhead on a no-change night: the run's wall time less the time of
// its steps (opening the repository included), as the run itself measures them.
func TestJobOverheadNoChange(t *testing.T) {
	e := newJobEnv(t, newCLI(t))
	e.profile("[nightly.retention]\nkeep-last = 5\n[nightly.verify]\nsince-last = true\n")
	e.job("run", "nightly")
	r, _ := e.job("run", "nightly")
	var steps time.Duration
	for _, s := range r.Steps {
		steps += s.Duration
	}
	overhead := r.End.Sub(r.Start) - steps
	t.Logf("no-change night: run %s, steps %s, job overhead %s", r.End.Sub(r.Start), steps, overhead)
	if r.ExitCode != 0 || overhead > time.Second {
		t.Errorf("exit %d, overhead %s", r.ExitCode, overhead)
	}
}

// Bandwidth limits in a profile are applied as the global flags are (they were once
// refused): a limited job still completes.
func TestJobBandwidthLimits(t *testing.T) {
	e := newJobEnv(t, newCLI(t))
	e.profile("limit-upload = 100000\nlimit-download = 100000\n")
	if r, res := e.job("run", "nightly"); r.ExitCode != 0 || r.SnapshotID == "" {
		t.Fatalf("limited job: %+v\n%s", r, res.Stderr)
	}
}

// --random-delay (what a crontab line uses for systemd's RandomizedDelaySec) waits at
// most its time, then runs; a SIGTERM during the wait ends it with 130 and no run.
func TestJobRunRandomDelay(t *testing.T) {
	e := newJobEnv(t, newCLI(t))
	e.profile("")
	if r, _ := e.job("run", "nightly", "--random-delay", "50ms"); r.ExitCode != 0 || r.SnapshotID == "" {
		t.Fatalf("run: %+v", r)
	}
	cmd := e.Cmd("job", "--config", e.config, "run", "nightly", "--random-delay", "1h")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	time.Sleep(300 * time.Millisecond)
	_ = cmd.Process.Signal(syscall.SIGTERM)
	_ = cmd.Wait()
	if code := cmd.ProcessState.ExitCode(); code != exitInterrupted {
		t.Errorf("stopped while waiting: exit %d, want %d", code, exitInterrupted)
	}
}

// job schedule takes the profile file from job's --config, before or after the
// subcommand, as run and check do; the unit runs the job with that file.
func TestJobScheduleConfigFlag(t *testing.T) {
	e := newJobEnv(t, newCLI(t))
	e.profile("")
	for _, args := range [][]string{
		{"job", "--config", e.config, "schedule", "nightly", "--at", "02:30", "--dry-run"},
		{"job", "schedule", "nightly", "--at", "02:30", "--dry-run", "--config", e.config},
	} {
		res := e.Run(args...)
		if res.Code != 0 || !strings.Contains(res.Stdout, "job run nightly --config "+e.config) {
			t.Errorf("%v: exit %d\n%s%s", args, res.Code, res.Stdout, res.Stderr)
		}
	}
}
