package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"text/tabwriter"
	"time"

	"github.com/cairn-backup/cairn/backup/job"
	"github.com/cairn-backup/cairn/internal/monitor"
	"github.com/cairn-backup/cairn/internal/profile"
	"github.com/cairn-backup/cairn/internal/schedule"
	"github.com/spf13/cobra"
)

// dueFunc says which periodic tasks of a profile (prune, the verify slice) are due,
// from its recorded runs; the profile file knows the intervals.
type dueFunc func(name string, runs []monitor.Run) ([]monitor.Due, error)

// jobStatus is `cairn job status`; its outside world is in fields, for tests.
type jobStatus struct {
	stateDir string
	now      time.Time
	last     int     // runs shown for one profile
	due      dueFunc // nil: no periodic tasks shown
	sched    *scheduler
}

func newJobStatusCmd(g *globals) *cobra.Command {
	last := 10
	cmd := &cobra.Command{
		Use:   "status [NAME]",
		Short: "Show a profile's last runs and what is due next",
		Long: `Shows, from local state, the last runs of the profile NAME (time, duration, exit
code, snapshot, bytes) and when it runs next; without NAME, one line per profile.
Runs are recorded in $XDG_STATE_HOME/cairn/jobs (default ~/.local/state/cairn/jobs).`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			st := &jobStatus{
				stateDir: monitor.StateDir(), now: time.Now(), last: last,
				due:   profileDue(cmd),
				sched: newScheduler(io.Discard, io.Discard, scheduleFlags{}),
			}
			return st.show(cmd.Context(), cmd.OutOrStdout(), g.json, args)
		},
	}
	cmd.Flags().IntVar(&last, "last", last, "how many runs to show")
	return cmd
}

// statusJSON is one profile under --json.
type statusJSON struct {
	Profile     string        `json:"profile"`
	Runs        []monitor.Run `json:"runs"`
	NextRun     *time.Time    `json:"next_run,omitempty"`
	ScheduledBy string        `json:"scheduled_by,omitempty"`
	Due         []dueJSON     `json:"due,omitempty"`
}

type dueJSON struct {
	Name  string     `json:"name"`
	Last  *time.Time `json:"last,omitempty"`
	Next  *time.Time `json:"next,omitempty"` // absent: due now
	Every float64    `json:"every_seconds"`
	Text  string     `json:"text"`
}

func (st *jobStatus) show(ctx context.Context, w io.Writer, asJSON bool, args []string) error {
	names := args
	if len(names) == 0 {
		var err error
		if names, err = monitor.Profiles(st.stateDir); err != nil {
			return err
		}
		if len(names) == 0 && !asJSON {
			fmt.Fprintf(w, "no job runs recorded in %s\n", st.stateDir)
			return nil
		}
	}
	var all []statusJSON
	for _, name := range names {
		s, err := st.profile(ctx, name)
		if err != nil {
			return err
		}
		all = append(all, s)
	}
	switch {
	case asJSON:
		return json.NewEncoder(w).Encode(all)
	case len(args) == 0:
		st.printSummary(w, all)
	default:
		st.printProfile(w, all[0])
	}
	return nil
}

// profile gathers one profile's runs, schedule and due tasks.
func (st *jobStatus) profile(ctx context.Context, name string) (statusJSON, error) {
	runs, err := monitor.Load(st.stateDir, name)
	if err != nil {
		return statusJSON{}, err
	}
	s := statusJSON{Profile: name, Runs: runs}
	if len(runs) > st.last {
		s.Runs = runs[len(runs)-st.last:]
	}
	if next, by, ok := st.nextRun(ctx, name); ok {
		s.NextRun, s.ScheduledBy = &next, by
	}
	if st.due == nil {
		return s, nil
	}
	dues, err := st.due(name, runs)
	if err != nil {
		return statusJSON{}, err
	}
	for _, d := range dues {
		j := dueJSON{Name: d.Name, Every: d.Every.Seconds(), Text: d.Format(st.now)}
		if !d.Last.IsZero() {
			last, next := d.Last, d.Next()
			j.Last, j.Next = &last, &next
		}
		s.Due = append(s.Due, j)
	}
	return s, nil
}

// nextRun finds the profile's installed timer (user units, then system units) or
// crontab line, and when it fires next.
func (st *jobStatus) nextRun(ctx context.Context, name string) (time.Time, string, bool) {
	for _, system := range []bool{false, true} {
		dir := schedule.UnitDir(system, configHome())
		if system == st.sched.system {
			dir = st.sched.unitDir
		}
		unit := schedule.UnitName(name) + ".timer"
		data, err := os.ReadFile(filepath.Join(dir, unit))
		if err != nil {
			continue
		}
		if h, m, delay, ok := schedule.ParseTimer(data); ok {
			return schedule.Next(h, m, st.now), "systemd timer " + unit + delayNote(delay), true
		}
	}
	if _, err := st.sched.lookPath("crontab"); err != nil {
		return time.Time{}, "", false
	}
	tab, err := st.sched.crontab(ctx)
	if err != nil {
		return time.Time{}, "", false
	}
	if h, m, ok := schedule.ParseCron(tab, name); ok {
		return schedule.Next(h, m, st.now), "crontab", true
	}
	return time.Time{}, "", false
}

func (st *jobStatus) printProfile(w io.Writer, s statusJSON) {
	if len(s.Runs) == 0 {
		fmt.Fprintf(w, "%s: no runs recorded\n", s.Profile)
	} else {
		fmt.Fprintf(w, "%s: last %s\n", s.Profile, count(len(s.Runs), "run", "runs"))
		tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
		fmt.Fprintln(tw, "  started\ttook\texit\tsnapshot\tadded\tstored")
		for _, r := range s.Runs {
			fmt.Fprintf(tw, "  %s\t%s\t%s\t%s\t%s\t%s\n", r.Start.Local().Format("2006-01-02 15:04"),
				monitor.Span(r.End.Sub(r.Start)), exitText(r), shortID(r.SnapshotID),
				bytesIEC(uint64(max(r.BytesAdded, 0))), bytesIEC(uint64(max(r.BytesStored, 0))))
		}
		tw.Flush()
		if last := s.Runs[len(s.Runs)-1]; last.Error != "" {
			fmt.Fprintf(w, "last error: %s\n", last.Error)
		}
	}
	fmt.Fprintln(w, nextText(s))
	for _, d := range s.Due {
		fmt.Fprintln(w, d.Text)
	}
}

func (st *jobStatus) printSummary(w io.Writer, all []statusJSON) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "profile\tlast run\texit\ttook\tsnapshot\tnext")
	for _, s := range all {
		last, exit, took, snap := "never", "", "", ""
		if n := len(s.Runs); n > 0 {
			r := s.Runs[n-1]
			last, exit, took, snap = r.Start.Local().Format("2006-01-02 15:04"), exitText(r), monitor.Span(r.End.Sub(r.Start)), shortID(r.SnapshotID)
		}
		next := "not scheduled"
		if s.NextRun != nil {
			next = s.NextRun.Local().Format("2006-01-02 15:04")
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", s.Profile, last, exit, took, snap, next)
	}
	tw.Flush()
}

func nextText(s statusJSON) string {
	if s.NextRun == nil {
		return "next run: not scheduled (see cairn job schedule)"
	}
	return "next run: " + s.NextRun.Local().Format("2006-01-02 15:04") + ", " + s.ScheduledBy
}

func exitText(r monitor.Run) string {
	switch r.ExitCode {
	case exitOK:
		return "ok"
	case exitPartial:
		return "3 (partial)"
	}
	return fmt.Sprintf("%d (failed)", r.ExitCode)
}

func shortID(id string) string {
	if id == "" {
		return "-"
	}
	return id[:min(8, len(id))]
}

// profileDue reads what is periodic from the profile file (--config, or the usual
// places); without a readable file, status shows the runs alone.
func profileDue(cmd *cobra.Command) dueFunc {
	explicit := ""
	if f := cmd.Flag("config"); f != nil {
		explicit = f.Value.String()
	}
	path, err := profile.Find(explicit)
	if err != nil {
		return nil
	}
	file, err := profile.Load(path)
	if err != nil {
		return nil
	}
	return func(name string, runs []monitor.Run) ([]monitor.Due, error) {
		p, err := file.Get(name)
		if err != nil {
			return nil, nil // a profile run once and since removed from the file
		}
		var due []monitor.Due
		if p.PruneEvery > 0 || p.PruneUnused > 0 {
			d := monitor.Due{Name: "prune", Last: monitor.LastStep(runs, "prune"), Every: p.PruneEvery}
			if p.PruneUnused > 0 {
				d.Note = fmt.Sprintf("or when unused data exceeds %g%%", p.PruneUnused*100)
			}
			due = append(due, d)
		}
		if p.Verify.ReadDataDays > 0 {
			n, m, _ := job.NextSlice(jobStateDir(), name, p.Verify.ReadDataDays)
			due = append(due, monitor.Due{Name: "verify slice", Note: fmt.Sprintf("next %d/%d, all of the data every %d runs", n, m, m)})
		}
		return due, nil
	}
}
