package job

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/cairn-backup/cairn/internal/monitor"
	"github.com/cairn-backup/cairn/internal/profile"
)

var errPartial, errDamage = errors.New("partial"), errors.New("damage")

func code(err error) int {
	switch {
	case err == nil:
		return 0
	case errors.Is(err, errPartial):
		return 3
	case errors.Is(err, errDamage):
		return 4
	case errors.Is(err, ErrBusy):
		return 11
	case errors.Is(err, context.Canceled):
		return 130
	}
	return 1
}

// fake records the calls a job makes; fail names a call to fail with its error.
type fake struct {
	calls  []string
	fail   map[string]error
	unused float64
	plan   VerifyPlan
}

func (f *fake) call(name string) error { f.calls = append(f.calls, name); return f.fail[name] }
func (f *fake) Backup(_ context.Context, r *monitor.Run) error {
	r.SnapshotID = "abc"
	return f.call("backup")
}
func (f *fake) Forget(context.Context) error                 { return f.call("forget") }
func (f *fake) UnusedShare(context.Context) (float64, error) { return f.unused, f.call("unused") }
func (f *fake) Prune(context.Context) error                  { return f.call("prune") }
func (f *fake) Verify(_ context.Context, p VerifyPlan) error { f.plan = p; return f.call("verify") }
func (f *fake) Describe(_ context.Context, r *monitor.Run)   { r.Snapshots = 1 }
func (f *fake) Close() error                                 { return nil }

func setup(t *testing.T, text string) (Config, *fake) {
	t.Helper()
	pf, err := profile.Parse("p.toml", []byte("[n]\nrepository = \"/r\"\npaths = [\"/a\"]\n"+text))
	if err != nil {
		t.Fatal(err)
	}
	f := &fake{fail: map[string]error{}}
	cfg := Config{Profile: pf.Profiles["n"], StateDir: t.TempDir(), Code: code,
		Open: func(context.Context) (Repository, error) { return f, nil }}
	return cfg, f
}

func steps(r *monitor.Run) string {
	var out []string
	for _, s := range r.Steps {
		n := s.Name
		if s.Skipped {
			n += "(skipped)"
		} else if s.ExitCode != 0 {
			n += "(failed)"
		}
		out = append(out, n)
	}
	return strings.Join(out, " ")
}

func TestFullRunAndPruneDue(t *testing.T) {
	cfg, f := setup(t, "prune = \"weekly\"\n[n.retention]\nkeep-daily = 7\n[n.verify]\nsince-last = true\nread-data-days = 10\n")
	now := time.Date(2025, 3, 1, 2, 30, 0, 0, time.Local)
	cfg.Now = func() time.Time { return now }
	r := Run(context.Background(), cfg)
	if r.ExitCode != 0 || !r.Pruned || r.Verify != "ok" || r.SnapshotID != "abc" || r.Snapshots != 1 {
		t.Fatalf("run = %+v", r)
	}
	if got := strings.Join(f.calls, " "); got != "backup forget prune verify" {
		t.Errorf("calls %q", got)
	}
	if f.plan.SliceM != 10 || !f.plan.SinceLast || f.plan.SliceN < 1 || f.plan.SliceN > 10 {
		t.Errorf("verify plan %+v", f.plan)
	}
	// The next night (half an hour earlier): no prune; a week later, less an hour: due.
	f.calls, now = nil, now.Add(23*time.Hour+30*time.Minute)
	if r := Run(context.Background(), cfg); r.Pruned || !strings.Contains(steps(r), "prune(skipped)") {
		t.Errorf("pruned again after a day: %s", steps(r))
	}
	now = now.Add(6 * 24 * time.Hour)
	if r := Run(context.Background(), cfg); !r.Pruned {
		t.Errorf("not pruned after a week: %s", steps(r))
	}
}

func TestPruneWhenUnused(t *testing.T) {
	cfg, f := setup(t, "prune-when-unused = \"10%\"\n")
	f.unused = 0.05
	if r := Run(context.Background(), cfg); r.Pruned || r.Verify != "skipped" {
		t.Errorf("5%% unused pruned: %+v", r)
	}
	f.unused = 0.2
	if r := Run(context.Background(), cfg); !r.Pruned {
		t.Errorf("20%% unused not pruned: %s", steps(r))
	}
}

// The rolling slice moves on only after a verify that read it: a failed verify (or a
// missed night) reads the same slice next time, and every slice is read within
// read-data-days runs that verified, whatever the dates.
func TestVerifySliceRotates(t *testing.T) {
	cfg, f := setup(t, "[n.verify]\nread-data-days = 4\n")
	now := time.Date(2025, 3, 1, 2, 30, 0, 0, time.Local)
	cfg.Now = func() time.Time { return now }
	var read []uint64
	run := func() *monitor.Run {
		r := Run(context.Background(), cfg)
		read = append(read, f.plan.SliceN)
		now = now.AddDate(0, 0, 3) // nights missed between runs change nothing
		return r
	}
	run()
	f.fail["verify"] = errors.New("connection reset")
	if r := run(); r.ExitCode != 1 || r.Verify != "failed" {
		t.Fatalf("failed verify: %+v", r)
	}
	delete(f.fail, "verify")
	f.fail["verify"] = errDamage // damage found: the slice was read, the next one follows
	if r := run(); r.Verify != "damaged" {
		t.Fatalf("damaged verify: %+v", r)
	}
	delete(f.fail, "verify")
	run()
	run()
	if got := fmt.Sprint(read); got != "[1 2 2 3 4]" {
		t.Errorf("slices read %s, want [1 2 2 3 4]", got)
	}
	if f.plan.SliceM != 4 {
		t.Errorf("slice of %d, want 4", f.plan.SliceM)
	}
	if n, m, err := NextSlice(cfg.StateDir, "n", 4); n != 1 || m != 4 || err != nil {
		t.Errorf("after slice 4/4 the next is %d/%d (%v), want 1/4", n, m, err)
	}
	// A new read-data-days starts its cycle at the first slice.
	cfg.Profile.Verify.ReadDataDays = 7
	run()
	if f.plan.SliceN != 1 || f.plan.SliceM != 7 {
		t.Errorf("after a policy change: slice %d/%d, want 1/7", f.plan.SliceN, f.plan.SliceM)
	}
}

func TestBeforeHookFails(t *testing.T) {
	out := filepath.Join(t.TempDir(), "after")
	cfg, f := setup(t, "[n.hooks]\nbefore = [\"echo dumping; echo 'pg_dump: no database' >&2; exit 2\"]\n"+
		"after-failure = [\"echo $CAIRN_JOB_EXIT_CODE > "+out+"\"]\nalways = [\"true\"]\n")
	r := Run(context.Background(), cfg)
	if r.ExitCode != 1 || len(f.calls) != 0 {
		t.Fatalf("exit %d, calls %v", r.ExitCode, f.calls)
	}
	if !strings.Contains(r.Error, "pg_dump: no database") || !strings.Contains(r.Error, "exit status 2") || strings.Contains(r.Error, "\n") {
		t.Errorf("error %q: want the hook's output on one line", r.Error)
	}
	if got := steps(r); got != "before-hook(failed) backup(skipped) forget(skipped) prune(skipped) verify(skipped) after-failure-hook always-hook" {
		t.Errorf("steps %s", got)
	}
	if b, _ := os.ReadFile(out); strings.TrimSpace(string(b)) != "1" {
		t.Errorf("after-failure hook saw exit code %q", b)
	}
}

func TestHookFailureContinue(t *testing.T) {
	cfg, f := setup(t, "[n.hooks]\nbefore = [\"exit 1\"]\nhook-failure = \"continue\"\n")
	if r := Run(context.Background(), cfg); r.ExitCode != 0 || len(f.calls) == 0 || r.Steps[0].ExitCode != 1 {
		t.Errorf("continue: exit %d, calls %v, steps %s", r.ExitCode, f.calls, steps(r))
	}
}

func TestHookTimeout(t *testing.T) {
	cfg, _ := setup(t, "[n.hooks]\nbefore = [\"sleep 30\"]\ntimeout = \"200ms\"\n")
	start := time.Now()
	r := Run(context.Background(), cfg)
	if r.ExitCode != 1 || !strings.Contains(r.Error, "timed out") || time.Since(start) > 10*time.Second {
		t.Errorf("timeout: %+v after %s", r, time.Since(start))
	}
}

// The backup's exit code is the job's; a partial backup goes on, a failed one stops.
func TestBackupFails(t *testing.T) {
	cfg, f := setup(t, "[n.retention]\nkeep-last = 3\n[n.hooks]\nafter-failure = [\"echo failed\"]\nafter-success = [\"echo ok\"]\n")
	f.fail["backup"] = errPartial
	if r := Run(context.Background(), cfg); r.ExitCode != 3 || strings.Join(f.calls, " ") != "backup forget" ||
		!strings.Contains(steps(r), "after-failure-hook") {
		t.Errorf("partial: exit %d, calls %v, steps %s", r.ExitCode, f.calls, steps(r))
	}
	f.calls, f.fail["backup"] = nil, errors.New("disk full")
	r := Run(context.Background(), cfg)
	if r.ExitCode != 1 || strings.Join(f.calls, " ") != "backup" || r.Error != "disk full" {
		t.Errorf("failed: %+v calls %v", r, f.calls)
	}
	if got := steps(r); got != "open backup(failed) forget(skipped) prune(skipped) verify(skipped) after-failure-hook" {
		t.Errorf("steps %s", got)
	}
	f.calls, f.fail["backup"], f.fail["verify"] = nil, nil, errDamage
	cfg.Profile.Verify.SinceLast = true
	if r := Run(context.Background(), cfg); r.ExitCode != 4 || r.Verify != "damaged" {
		t.Errorf("damage: %+v", r)
	}
}

// A job stopped where no step noticed (steps that ignore their context) is not a
// success: it exits 130, and the after-failure and always hooks run.
func TestInterruptedIsNoSuccess(t *testing.T) {
	cfg, _ := setup(t, "[n.hooks]\nafter-success = [\"true\"]\nafter-failure = [\"true\"]\nalways = [\"true\"]\n")
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	r := Run(ctx, cfg)
	if r.ExitCode != 130 || !strings.HasSuffix(steps(r), "after-failure-hook always-hook") {
		t.Errorf("exit %d, steps %s", r.ExitCode, steps(r))
	}
}

func TestOverlap(t *testing.T) {
	cfg, _ := setup(t, "")
	unlock, err := lock(context.Background(), cfg.StateDir, "n", false)
	if err != nil {
		t.Fatal(err)
	}
	r := Run(context.Background(), cfg)
	if r.ExitCode != 11 || !strings.Contains(r.Error, "in progress") || len(r.Steps) != 0 {
		t.Fatalf("second run: %+v", r)
	}
	cfg.Wait = true
	go func() { time.Sleep(300 * time.Millisecond); unlock() }()
	start := time.Now()
	if r := Run(context.Background(), cfg); r.ExitCode != 0 || time.Since(start) < 250*time.Millisecond {
		t.Fatalf("--wait: exit %d after %s", r.ExitCode, time.Since(start))
	}
}
