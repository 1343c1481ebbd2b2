package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"github.com/cairn-backup/cairn/internal/monitor"
	"github.com/cairn-backup/cairn/internal/profile"
	"github.com/cairn-backup/cairn/internal/schedule"
	"github.com/spf13/cobra"
)

type scheduleFlags struct {
	at               string
	cron, remove     bool
	dryRun, noEnable bool
	randomDelay      time.Duration
	nice             int
}

func newJobScheduleCmd(g *globals, jf *jobFlags) *cobra.Command {
	var f scheduleFlags
	cmd := &cobra.Command{
		Use:   "schedule NAME --at HH:MM",
		Short: "Run a profile every night: a systemd timer, or a crontab line",
		Long: `Writes a systemd service and timer that run 'cairn job run NAME' every day at
--at (user units under ~/.config/systemd/user; system units under
/etc/systemd/system when run as root), and enables the timer. With --cron, adds a
line to the crontab instead. --remove undoes either; --dry-run prints what would be
written and run.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			s := newScheduler(cmd.OutOrStdout(), cmd.ErrOrStderr(), f)
			if f.remove {
				return s.remove(cmd.Context(), args[0])
			}
			spec, err := s.spec(args[0], jf.config, f)
			if err != nil {
				return err
			}
			if f.cron {
				return s.installCron(cmd.Context(), spec)
			}
			return s.installUnits(cmd.Context(), spec)
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&f.at, "at", "", "time of day to run, e.g. 02:30 (local time)")
	fl.BoolVar(&f.cron, "cron", false, "add a crontab line instead of systemd units")
	fl.BoolVar(&f.remove, "remove", false, "remove the profile's timer and crontab line")
	fl.BoolVar(&f.dryRun, "dry-run", false, "print what would be written and run, change nothing")
	fl.BoolVar(&f.noEnable, "no-enable", false, "write the units but do not enable the timer")
	fl.DurationVar(&f.randomDelay, "random-delay", 10*time.Minute, "start up to this much later, at random (systemd RandomizedDelaySec)")
	fl.IntVar(&f.nice, "nice", 10, "CPU priority of the job, 0 to 19")
	return cmd
}

// scheduler installs and removes schedules; the commands it runs go through run, so
// tests need no systemctl or crontab.
type scheduler struct {
	out, errOut      io.Writer
	system           bool   // as root: system units, system-wide systemctl
	unitDir          string // where units go
	dryRun, noEnable bool
	binary           func() (string, error)
	findConfig       func(explicit string) (string, error)
	lookPath         func(string) (string, error)
	run              func(ctx context.Context, stdin []byte, name string, args ...string) ([]byte, error)
}

func newScheduler(out, errOut io.Writer, f scheduleFlags) *scheduler {
	system := os.Geteuid() == 0
	return &scheduler{
		out: out, errOut: errOut, system: system, unitDir: schedule.UnitDir(system, configHome()),
		dryRun: f.dryRun, noEnable: f.noEnable,
		binary: os.Executable, findConfig: profile.Find, lookPath: exec.LookPath, run: runCommand,
	}
}

// spec gathers what the units or the line need; every path absolute.
func (s *scheduler) spec(name, configFlag string, f scheduleFlags) (schedule.Spec, error) {
	if f.at == "" {
		return schedule.Spec{}, errors.New("give the time of day with --at, e.g. --at 02:30")
	}
	hour, minute, err := schedule.ParseAt(f.at)
	if err != nil {
		return schedule.Spec{}, err
	}
	bin, err := s.binary()
	if err != nil {
		return schedule.Spec{}, fmt.Errorf("find the cairn binary: %w", err)
	}
	if strings.Contains(bin, string(filepath.Separator)+"go-build") {
		return schedule.Spec{}, fmt.Errorf("%s is a temporary build: schedule an installed cairn", bin)
	}
	config, err := s.findConfig(configFlag)
	if err != nil {
		return schedule.Spec{}, err
	}
	if config, err = filepath.Abs(config); err != nil {
		return schedule.Spec{}, err
	}
	spec := schedule.Spec{
		Profile: name, Hour: hour, Minute: minute, Binary: bin, Config: config,
		RandomDelay: f.randomDelay, Nice: f.nice, System: s.system, Path: os.Getenv("PATH"),
	}
	spec.Home, _ = os.UserHomeDir()
	_, ierr := s.lookPath("ionice")
	spec.Ionice = ierr == nil
	return spec, spec.Check()
}

func (s *scheduler) systemctl(args ...string) []string {
	if s.system {
		return args
	}
	return append([]string{"--user"}, args...)
}

// installUnits writes the service and the timer, then reloads and enables.
func (s *scheduler) installUnits(ctx context.Context, spec schedule.Spec) error {
	base := filepath.Join(s.unitDir, schedule.UnitName(spec.Profile))
	files := []struct {
		path string
		data []byte
	}{{base + ".service", schedule.Service(spec)}, {base + ".timer", schedule.Timer(spec)}}
	for _, f := range files {
		if s.dryRun {
			fmt.Fprintf(s.out, "would write %s:\n%s\n", f.path, f.data)
			continue
		}
		if err := os.MkdirAll(s.unitDir, 0o755); err != nil {
			return err
		}
		if err := monitor.WriteAtomic(f.path, f.data, 0o644); err != nil {
			return fmt.Errorf("write unit: %w", err)
		}
		fmt.Fprintf(s.out, "wrote %s\n", f.path)
	}
	timer := filepath.Base(base) + ".timer"
	steps := [][]string{s.systemctl("daemon-reload")}
	if !s.noEnable {
		steps = append(steps, s.systemctl("enable", "--now", timer))
	}
	if err := s.systemctlSteps(ctx, steps); err != nil {
		return fmt.Errorf("%w (the units are written; enable with: systemctl %s)", err, strings.Join(s.systemctl("enable", "--now", timer), " "))
	}
	next := schedule.Next(spec.Hour, spec.Minute, time.Now())
	switch {
	case s.dryRun:
	case s.noEnable:
		fmt.Fprintf(s.out, "not enabled: start with systemctl %s\n", strings.Join(s.systemctl("enable", "--now", timer), " "))
	default:
		fmt.Fprintf(s.out, "enabled %s: next run %s%s\n", timer, next.Format("2006-01-02 15:04"), delayNote(spec.RandomDelay))
	}
	return nil
}

func (s *scheduler) systemctlSteps(ctx context.Context, steps [][]string) error {
	for _, args := range steps {
		if s.dryRun {
			fmt.Fprintf(s.out, "would run: systemctl %s\n", strings.Join(args, " "))
			continue
		}
		if _, err := s.run(ctx, nil, "systemctl", args...); err != nil {
			return fmt.Errorf("systemctl %s: %w", strings.Join(args, " "), err)
		}
	}
	return nil
}

func delayNote(d time.Duration) string {
	if d <= 0 {
		return ""
	}
	return " (+ up to " + d.String() + " at random)"
}

// runCommand runs name with stdin and returns its standard output; its error holds
// what it wrote on standard error.
func runCommand(ctx context.Context, stdin []byte, name string, args ...string) ([]byte, error) {
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Stdin = bytes.NewReader(stdin)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return out, fmt.Errorf("%w: %s", err, strings.TrimSpace(stderr.String()))
	}
	return out, nil
}

// configHome is $XDG_CONFIG_HOME, by default ~/.config.
func configHome() string {
	if d := os.Getenv("XDG_CONFIG_HOME"); d != "" {
		return d
	}
	h, _ := os.UserHomeDir()
	return filepath.Join(h, ".config")
}
