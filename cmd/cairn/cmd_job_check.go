package main

import (
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/cairn-backup/cairn/backup/job"
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
			printPlan(w, p)
			return nil
		},
	}
}

// printPlan says what `job run` would do with p.
func printPlan(w io.Writer, p *profile.Profile) {
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
	var prune []string
	if p.PruneEvery > 0 {
		prune = append(prune, "every "+p.Prune)
	}
	if p.PruneUnused > 0 {
		prune = append(prune, "when unused space passes "+p.PruneWhenUnused)
	}
	if len(prune) == 0 {
		prune = []string{"never"}
	}
	fmt.Fprintf(w, "prune:       %s\n", strings.Join(prune, ", or "))
	v := p.Verify
	switch {
	case !v.Enabled():
		fmt.Fprintln(w, "verify:      no")
	case v.ReadDataDays > 0:
		n, m := job.Slice(time.Now(), v.ReadDataDays)
		fmt.Fprintf(w, "verify:      new packs: %t; slice %d/%d today (all data every %d days)\n", v.SinceLast, n, m, v.ReadDataDays)
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
		fmt.Fprintf(w, "monitoring:  health check %q, Prometheus file %q\n", p.HealthcheckURL, p.PrometheusFile)
	}
}

func deref(n *int) any {
	if n == nil {
		return "unchanged"
	}
	return *n
}
