package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/cairn-backup/cairn/backup/job"
	"github.com/cairn-backup/cairn/internal/monitor"
	"github.com/cairn-backup/cairn/internal/profile"
	"github.com/spf13/cobra"
)

func newJobCheckCmd(g *globals, jf *jobFlags) *cobra.Command {
	return &cobra.Command{
		Use:   "check NAME",
		Short: "Check a profile and open its repository without changing it; print what run would do",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			p, path, err := jf.load(args[0])
			if err != nil {
				return err
			}
			jg, err := jobGlobals(g, p)
			if err != nil {
				return err
			}
			fo, err := forgetOptions(p, "")
			if err != nil && !p.Retention.Empty() {
				return err
			}
			r, err := jg.open(cmd.Context())
			if err != nil {
				return err
			}
			defer r.Close()
			ids, err := r.Snapshots(cmd.Context())
			if err != nil {
				return err
			}
			w := cmd.OutOrStdout()
			fmt.Fprintf(w, "profile %s (%s)\n", p.Name, path)
			fmt.Fprintf(w, "repository:  %s (opened, %s)\n", p.Repository, count(len(ids), "snapshot", "snapshots"))
			if !p.Retention.Empty() {
				fmt.Fprintf(w, "forget:      %s, grouped by %s\n", fo.Policy, fo.GroupBy)
			}
			printPlan(w, p, jobStateDir(), time.Now())
			// What would only be missed at night: a warning, not a failed check.
			for _, warn := range checkMonitoring(cmd.Context(), p) {
				fmt.Fprintf(cmd.ErrOrStderr(), "warning: %s\n", warn)
			}
			return nil
		},
	}
}

// printPlan says what `job run` would do with p next, from the job's state in dir.
func printPlan(w io.Writer, p *profile.Profile, dir string, now time.Time) {
	fmt.Fprintf(w, "backup:      %s", strings.Join(p.Paths, " "))
	if len(p.Excludes) > 0 {
		fmt.Fprintf(w, " (excluding %s)", strings.Join(p.Excludes, " "))
	}
	if len(p.Tags) > 0 {
		fmt.Fprintf(w, " tagged %s", strings.Join(p.Tags, ","))
	}
	fmt.Fprintln(w)
	if p.Retention.Empty() {
		fmt.Fprintln(w, "forget:      nothing (no retention)")
	}
	fmt.Fprintf(w, "prune:       %s\n", prunePlan(p, dir, now))
	v := p.Verify
	switch {
	case !v.Enabled():
		fmt.Fprintln(w, "verify:      no")
	case v.ReadDataDays > 0:
		n, m, _ := job.NextSlice(dir, p.Name, v.ReadDataDays)
		fmt.Fprintf(w, "verify:      new packs: %t; next slice %d/%d (all data every %d runs)\n", v.SinceLast, n, m, v.ReadDataDays)
	default:
		fmt.Fprintln(w, "verify:      the packs no earlier verify read")
	}
	h := p.Hooks
	failure := "fatal"
	if !p.HooksFatal {
		failure = "continue"
	}
	fmt.Fprintf(w, "hooks:       %d before, %d after-success, %d after-failure, %d always (timeout %s, on failure: %s)\n",
		len(h.Before), len(h.AfterSuccess), len(h.AfterFailure), len(h.Always), p.HookTimeout, failure)
	if p.Nice != nil || p.IONiceClass != "" {
		fmt.Fprintf(w, "priority:    nice %v, ionice %s\n", deref(p.Nice), p.IONiceClass)
	}
	if p.HealthcheckURL != "" || p.PrometheusFile != "" {
		fmt.Fprintf(w, "monitoring:  health check %s, Prometheus file %q\n", orNone(monitor.Redact(p.HealthcheckURL), p.HealthcheckURL), p.PrometheusFile)
	}
}

// prunePlan says when prune runs, and whether the next run prunes by the interval.
func prunePlan(p *profile.Profile, dir string, now time.Time) string {
	var when []string
	if p.PruneEvery > 0 {
		last, _ := job.LastPrune(dir, p.Name)
		s := "every " + monitor.Span(p.PruneEvery)
		switch next := last.Add(p.PruneEvery - p.PruneEvery/8); {
		case last.IsZero():
			s += " (due at the next run: never pruned here)"
		case !next.After(now):
			s += fmt.Sprintf(" (due at the next run; last %s ago)", monitor.Span(now.Sub(last)))
		default:
			s += fmt.Sprintf(" (next after %s; last %s ago)", next.Local().Format("2006-01-02 15:04"), monitor.Span(now.Sub(last)))
		}
		when = append(when, s)
	}
	if p.PruneUnused > 0 {
		when = append(when, "when unused space passes "+p.PruneWhenUnused)
	}
	if len(when) == 0 {
		return "never"
	}
	return strings.Join(when, ", or ")
}

// checkMonitoring finds what would make the night's reports go missing: a health
// check whose server cannot be reached (tried without pinging it), a Prometheus file
// whose folder is absent.
func checkMonitoring(ctx context.Context, p *profile.Profile) []string {
	var warns []string
	if p.HealthcheckURL != "" {
		if err := monitor.Reachable(ctx, p.HealthcheckURL, 10*time.Second); err != nil {
			warns = append(warns, err.Error()+" (the job still runs; the pings will be missed)")
		}
	}
	if p.PrometheusFile != "" {
		dir := filepath.Dir(p.PrometheusFile)
		if fi, err := os.Stat(dir); err != nil || !fi.IsDir() {
			warns = append(warns, fmt.Sprintf("prometheus-file: folder %s does not exist (create it, or node_exporter's text-file folder is elsewhere)", dir))
		}
	}
	return warns
}

func orNone(shown, raw string) string {
	if raw == "" {
		return "none"
	}
	return shown
}

func deref(n *int) any {
	if n == nil {
		return "unchanged"
	}
	return *n
}
