package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"time"

	"github.com/cairn-backup/cairn/backup/job"
	"github.com/cairn-backup/cairn/internal/monitor"
	"github.com/cairn-backup/cairn/internal/profile"
	"github.com/spf13/cobra"
)

// jobFlags are the flags every job subcommand shares.
type jobFlags struct {
	config string
}

func newJobCmd(g *globals) *cobra.Command {
	jf := &jobFlags{}
	cmd := &cobra.Command{
		Use:   "job",
		Short: "Run the nightly job a profile describes: hooks, backup, forget, prune, verify",
		Long: `A profile file holds named jobs: repository, password source, paths, retention,
when to prune, the verify policy, S3 and TLS settings, priority and hooks. It is
--config FILE, else $XDG_CONFIG_HOME/cairn/profiles.toml (~/.config/cairn/…), else
/etc/cairn/profiles.toml. See docs/profiles.example.toml.`,
	}
	cmd.PersistentFlags().StringVar(&jf.config, "config", "", "the profile file (default: $XDG_CONFIG_HOME/cairn/profiles.toml, then /etc/cairn/profiles.toml)")
	cmd.AddCommand(newJobRunCmd(g, jf), newJobCheckCmd(g, jf), newJobStatusCmd(g), newJobScheduleCmd(g, jf))
	return cmd
}

// load finds the profile file and returns the profile called name.
func (jf *jobFlags) load(name string) (*profile.Profile, string, error) {
	path, err := profile.Find(jf.config)
	if err != nil {
		return nil, "", err
	}
	f, err := profile.Load(path)
	if err != nil {
		return nil, "", err
	}
	p, err := f.Get(name)
	return p, path, err
}

// jobStateDir holds the jobs' local state: per profile its lock, the time of its last
// prune, and the record of its runs.
func jobStateDir() string { return filepath.Join(stateDir(), "jobs") }

// jobExit carries a job's exit code to main, which prints msg once.
type jobExit struct {
	code int
	msg  string
}

func (e *jobExit) Error() string { return e.msg }

func newJobRunCmd(g *globals, jf *jobFlags) *cobra.Command {
	var wait bool
	var delay time.Duration
	cmd := &cobra.Command{
		Use:   "run NAME",
		Short: "Run a profile's job: before-hooks, backup, forget, prune when due, verify, after-hooks",
		Long: `run runs the profile's job in one process and prints one summary (--json: the
run as monitoring records it). It never overlaps itself on one host: while another run
of the profile holds its lock it exits 11, or with --wait waits for it.

Exit codes: 0 ok, 3 snapshot made but some files were unreadable, 4 verify found
damage, 1 any other failure (a failing hook too, unless the profile has
hook-failure = "continue"; a failing before-hook means no backup), 10 no repository,
11 another run holds the lock, 12 wrong password, 130 interrupted (SIGINT or SIGTERM:
the after-failure and always hooks still run, and the failure is reported).`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := randomDelay(cmd.Context(), delay); err != nil {
				return err
			}
			run, err := runJob(cmd.Context(), g, jf, args[0], wait)
			if err != nil {
				return err
			}
			if err := g.print(cmd, run, func() { printRun(cmd.OutOrStdout(), run) }); err != nil {
				return err
			}
			if run.ExitCode != exitOK {
				return &jobExit{code: run.ExitCode, msg: run.Error}
			}
			return nil
		},
	}
	cmd.Flags().BoolVar(&wait, "wait", false, "wait for another run of the profile to end instead of exiting 11")
	cmd.Flags().DurationVar(&delay, "random-delay", 0, "first wait a random time up to this (a crontab line's spread; systemd timers have RandomizedDelaySec)")
	return cmd
}

// randomDelay waits a random time in [0, max), or until ctx ends.
func randomDelay(ctx context.Context, max time.Duration) error {
	if max <= 0 {
		return nil
	}
	t := time.NewTimer(rand.N(max))
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// runJob loads the profile and runs its job in this process.
func runJob(ctx context.Context, g *globals, jf *jobFlags, name string, wait bool) (*monitor.Run, error) {
	p, _, err := jf.load(name)
	if err != nil {
		return nil, err
	}
	jg, err := jobGlobals(g, p)
	if err != nil {
		return nil, err
	}
	for k, v := range p.Env {
		if err := os.Setenv(k, v); err != nil {
			return nil, fmt.Errorf("profile %s: env.%s: %w", p.Name, k, err)
		}
	}
	m := newJobMonitor(p.HealthcheckURL, p.PrometheusFile, jobStateDir())
	cfg := job.Config{
		Profile: p, StateDir: jobStateDir(), Wait: wait, Log: io.MultiWriter(os.Stderr, m.Log()),
		Code:    func(err error) int { return exitCode(err, ctx.Err() != nil) },
		Open:    func(ctx context.Context) (job.Repository, error) { return openJobRepo(ctx, jg, p) },
		OnStart: func() { m.start(ctx) },
	}
	run := job.Run(ctx, cfg)
	if run.ExitCode == exitLocked {
		return run, nil // the run holding the lock reports; this one did nothing
	}
	var summary bytes.Buffer
	printRun(&summary, run)
	if !run.Success() {
		m.Log().Write(summary.Bytes()) // the failure ping ends with what went wrong
	}
	// A miss is reported, never the job's failure: the backup itself succeeded.
	if err := m.finish(context.WithoutCancel(ctx), run, summary.String()); err != nil {
		fmt.Fprintf(os.Stderr, "warning: %s\n", err)
	}
	return run, nil
}

// printRun prints a run in one screen.
func printRun(w io.Writer, r *monitor.Run) {
	verdict := "ok"
	if r.ExitCode != exitOK {
		verdict = fmt.Sprintf("FAILED (exit %d)", r.ExitCode)
	}
	fmt.Fprintf(w, "job %s: %s in %s\n", r.Profile, verdict, r.End.Sub(r.Start).Round(1e6))
	for _, s := range r.Steps {
		switch {
		case s.Skipped:
			fmt.Fprintf(w, "  %-18s skipped\n", s.Name)
		case s.Error != "":
			fmt.Fprintf(w, "  %-18s %8s  exit %d: %s\n", s.Name, s.Duration.Round(1e6), s.ExitCode, s.Error)
		default:
			fmt.Fprintf(w, "  %-18s %8s  ok\n", s.Name, s.Duration.Round(1e6))
		}
	}
	if r.SnapshotID != "" {
		fmt.Fprintf(w, "snapshot %.8s: %d files, %s added (%s stored), %d unreadable\n",
			r.SnapshotID, r.Files, bytesIEC(uint64(r.BytesAdded)), bytesIEC(uint64(r.BytesStored)), r.Errors)
	}
	if r.RepoSize >= 0 {
		fmt.Fprintf(w, "repository: %s, %s; pruned: %t; verify: %s\n",
			count(r.Snapshots, "snapshot", "snapshots"), bytesIEC(uint64(r.RepoSize)), r.Pruned, r.Verify)
	}
	if r.Error != "" {
		fmt.Fprintf(w, "error: %s\n", r.Error)
	}
}
