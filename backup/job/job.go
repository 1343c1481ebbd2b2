// Package job runs a profile's nightly job in order: before-hooks, backup, forget,
// prune when due, the verify slice, after-hooks; one run at a time per profile and
// host, one exit code, one monitor.Run describing it.
//
// It orders the work and decides, but calls no engine: an engine never imports
// another, so cmd/cairn hands it a Repository whose methods call the engines exactly
// as the commands do.
package job

import (
	"context"
	"errors"
	"io"
	"os"
	"strings"
	"time"

	"github.com/cairn-backup/cairn/internal/monitor"
	"github.com/cairn-backup/cairn/internal/profile"
)

// ErrBusy is returned (as the Run's error) when another run of the profile holds its
// lock on this host.
var ErrBusy = errors.New("another run of this profile is in progress")

// Exit codes the job reads from Config.Code: they are part of cairn's interface.
const (
	codePartial = 3 // a snapshot was made, some files unreadable: the job goes on
	codeDamage  = 4 // verify found damage
)

// Repository is the work on the repository that a job orders.
type Repository interface {
	// Backup makes the snapshot and fills the Run's snapshot fields.
	Backup(ctx context.Context, run *monitor.Run) error
	// Forget applies the profile's retention policy.
	Forget(ctx context.Context) error
	// UnusedShare is the share of the repository's bytes no snapshot needs.
	UnusedShare(ctx context.Context) (float64, error)
	Prune(ctx context.Context) error
	Verify(ctx context.Context, plan VerifyPlan) error
	// Describe fills the Run's repository size and snapshot count, as far as known.
	Describe(ctx context.Context, run *monitor.Run)
	Close() error
}

// VerifyPlan is what the verify step reads besides the structure: the packs no
// earlier verify read, and slice N of M of all packs (M 0: no slice).
type VerifyPlan struct {
	SinceLast      bool
	SliceN, SliceM uint64
}

// Config is a run's profile and its surroundings.
type Config struct {
	Profile  *profile.Profile
	StateDir string // the jobs' local state (locks, last prune): …/state/cairn/jobs
	Open     func(ctx context.Context) (Repository, error)
	Code     func(error) int // the exit code cairn gives err
	Wait     bool            // wait for another run of the profile instead of exiting
	Now      func() time.Time
	Log      io.Writer // the hooks' output, as it comes
	OnStart  func()    // called once the lock is held (a start ping)
}

func (c *Config) now() time.Time {
	if c.Now != nil {
		return c.Now()
	}
	return time.Now()
}

// Run runs the job and describes it; Run.ExitCode is the job's exit code.
func Run(ctx context.Context, cfg Config) *monitor.Run {
	if cfg.Log == nil {
		cfg.Log = io.Discard
	}
	p := cfg.Profile
	j := &run{cfg: cfg, p: p, out: &monitor.Run{Profile: p.Name, Start: cfg.now(), RepoSize: -1, Verify: "skipped", Steps: []monitor.Step{}}}
	defer func() { j.out.End = cfg.now() }()
	unlock, err := lock(ctx, cfg.StateDir, p.Name, cfg.Wait)
	if err != nil {
		j.fail(err, cfg.Code(err))
		return j.out
	}
	defer unlock()
	if cfg.OnStart != nil {
		cfg.OnStart()
	}
	if err := applyPriority(p); err != nil {
		j.fail(err, cfg.Code(err))
		j.skip("backup", "forget", "prune", "verify")
	} else if j.hooks(ctx, "before", p.Hooks.Before) {
		j.repository(ctx)
	} else {
		j.skip("backup", "forget", "prune", "verify")
	}
	if err := ctx.Err(); err != nil {
		// Stopped (SIGTERM from systemd, Ctrl-C) where no step noticed: not a success.
		j.fail(err, cfg.Code(err))
	}
	// After-hooks run even when the job was interrupted (each within its timeout).
	after := context.WithoutCancel(ctx)
	if j.out.ExitCode == 0 {
		j.hooks(after, "after-success", p.Hooks.AfterSuccess)
	} else {
		j.hooks(after, "after-failure", p.Hooks.AfterFailure)
	}
	j.hooks(after, "always", p.Hooks.Always)
	return j.out
}

// run is one job in progress.
type run struct {
	cfg      Config
	p        *profile.Profile
	out      *monitor.Run
	skipNext bool // the step running had nothing to do
}

// fail records err with its exit code: the first failure decides, but a partial
// backup gives way to a later failure.
func (j *run) fail(err error, code int) {
	if code == 0 {
		code = 1
	}
	if j.out.ExitCode == 0 || (j.out.ExitCode == codePartial && code != codePartial) {
		j.out.ExitCode, j.out.Error = code, oneLine(err)
	}
}

// step times fn as the step called name and records its outcome.
func (j *run) step(name string, fn func() error) error {
	start := j.cfg.now()
	j.skipNext = false
	err := fn()
	s := monitor.Step{Name: name, Duration: j.cfg.now().Sub(start), Skipped: j.skipNext}
	if err != nil {
		s.ExitCode, s.Error = j.cfg.Code(err), oneLine(err)
		if s.ExitCode == 0 {
			s.ExitCode = 1
		}
	}
	j.out.Steps = append(j.out.Steps, s)
	return err
}

func (j *run) skip(names ...string) {
	for _, n := range names {
		j.out.Steps = append(j.out.Steps, monitor.Step{Name: n, Skipped: true})
	}
}

// oneLine makes err fit on one line (hook output may have several).
func oneLine(err error) string {
	lines := strings.Fields(strings.ReplaceAll(err.Error(), "\n", " ⏎ "))
	return strings.Join(lines, " ")
}

// environ is the hooks' environment: cairn's own, and what they may want to know.
func (j *run) environ(kind string) []string {
	env := append(os.Environ(), "CAIRN_JOB="+j.p.Name, "CAIRN_JOB_HOOK="+kind)
	if kind != "before" {
		env = append(env, "CAIRN_JOB_EXIT_CODE="+itoa(j.out.ExitCode), "CAIRN_JOB_ERROR="+j.out.Error)
	}
	return env
}
