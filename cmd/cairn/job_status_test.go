package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/cairn-backup/cairn/internal/monitor"
	"github.com/cairn-backup/cairn/internal/schedule"
	"github.com/spf13/cobra"
)

func testStatus(t *testing.T, f *fakeSystem) *jobStatus {
	s, _, _ := testScheduler(t, f, false)
	return &jobStatus{
		stateDir: filepath.Join(t.TempDir(), "jobs"),
		now:      time.Date(2026, 3, 10, 12, 0, 0, 0, time.Local),
		last:     10, sched: s,
	}
}

func recordRuns(t *testing.T, st *jobStatus) {
	day := time.Date(2026, 3, 8, 2, 31, 0, 0, time.Local)
	for i, exit := range []int{0, 3, 1} {
		start := day.Add(time.Duration(i) * 24 * time.Hour)
		r := monitor.Run{Profile: "home", Start: start, End: start.Add(90 * time.Second), ExitCode: exit,
			SnapshotID: "1a2b3c4d5e6f", BytesAdded: 5 << 20, BytesStored: 2 << 20,
			Steps: []monitor.Step{{Name: "backup"}, {Name: "prune", Skipped: i > 0}}}
		if exit == 1 {
			r.SnapshotID, r.Error = "", "before hook pg_dump: exit status 2"
		}
		if err := monitor.Record(st.stateDir, r); err != nil {
			t.Fatal(err)
		}
	}
	if err := monitor.Record(st.stateDir, monitor.Run{Profile: "work", Start: day, End: day.Add(time.Second)}); err != nil {
		t.Fatal(err)
	}
}

func TestJobStatusProfile(t *testing.T) {
	st := testStatus(t, &fakeSystem{})
	recordRuns(t, st)
	st.due = func(name string, runs []monitor.Run) ([]monitor.Due, error) {
		return []monitor.Due{{Name: "prune", Last: monitor.LastStep(runs, "prune"), Every: 7 * 24 * time.Hour}}, nil
	}
	spec := schedule.Spec{Profile: "home", Hour: 2, Minute: 30, RandomDelay: 10 * time.Minute}
	os.MkdirAll(st.sched.unitDir, 0o755)
	os.WriteFile(filepath.Join(st.sched.unitDir, "cairn-job-home.timer"), schedule.Timer(spec), 0o644)

	var out bytes.Buffer
	if err := st.show(context.Background(), &out, false, []string{"home"}); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		"home: last 3 runs\n",
		"  2026-03-08 02:31  1m30s  ok           1a2b3c4d  5.00 MiB  2.00 MiB",
		"  2026-03-09 02:31  1m30s  3 (partial)",
		"  2026-03-10 02:31  1m30s  1 (failed)   -",
		"last error: before hook pg_dump: exit status 2\n",
		"next run: 2026-03-11 02:30, systemd timer cairn-job-home.timer (+ up to 10m0s at random)\n",
		"prune: in 4d 14h (last 2d 9h ago, every 7d)\n",
	} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("output lacks %q:\n%s", want, out.String())
		}
	}
}

func TestJobStatusAll(t *testing.T) {
	f := &fakeSystem{tab: []byte("# cairn job \"work\": added by cairn job schedule\n15 3 * * * cairn job run work\n")}
	st := testStatus(t, f)
	recordRuns(t, st)
	var out bytes.Buffer
	if err := st.show(context.Background(), &out, false, nil); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	if len(lines) != 3 || !strings.HasPrefix(lines[1], "home     2026-03-10 02:31  1 (failed)  1m30s  -         not scheduled") ||
		!strings.HasPrefix(lines[2], "work     2026-03-08 02:31  ok          1s     -         2026-03-11 03:15") {
		t.Errorf("summary:\n%s", out.String())
	}

	out.Reset()
	if err := st.show(context.Background(), &out, true, nil); err != nil {
		t.Fatal(err)
	}
	var got []statusJSON
	if err := json.Unmarshal(out.Bytes(), &got); err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || len(got[0].Runs) != 3 || got[0].Runs[2].ExitCode != 1 || got[1].ScheduledBy != "crontab" ||
		!got[1].NextRun.Equal(time.Date(2026, 3, 11, 3, 15, 0, 0, time.Local)) {
		t.Errorf("json: %s", out.String())
	}
}

func TestJobStatusNothing(t *testing.T) {
	st := testStatus(t, &fakeSystem{noCrontab: true})
	var out bytes.Buffer
	if err := st.show(context.Background(), &out, false, nil); err != nil || !strings.Contains(out.String(), "no job runs recorded in ") {
		t.Errorf("%v: %s", err, out.String())
	}
	out.Reset()
	if err := st.show(context.Background(), &out, false, []string{"home"}); err != nil ||
		out.String() != "home: no runs recorded\nnext run: not scheduled (see cairn job schedule)\n" {
		t.Errorf("%v: %q", err, out.String())
	}
	st.last = 1
	recordRuns(t, st)
	out.Reset()
	st.show(context.Background(), &out, false, []string{"home"})
	if !strings.Contains(out.String(), "home: last 1 run\n") || strings.Contains(out.String(), "2026-03-09") {
		t.Errorf("--last 1:\n%s", out.String())
	}
}

// The commands as cobra runs them, under a stand-in for the job command.
func TestJobCommandsWired(t *testing.T) {
	state := t.TempDir()
	t.Setenv("XDG_STATE_HOME", state)
	start := time.Now().Add(-time.Hour)
	if err := monitor.Record(filepath.Join(state, "cairn", "jobs"), monitor.Run{Profile: "home", Start: start, End: start.Add(time.Minute)}); err != nil {
		t.Fatal(err)
	}
	g := &globals{}
	job := &cobra.Command{Use: "job", SilenceUsage: true, SilenceErrors: true}
	jf := &jobFlags{}
	job.PersistentFlags().StringVar(&jf.config, "config", "", "")
	job.AddCommand(newJobStatusCmd(g), newJobScheduleCmd(g, jf))
	var out bytes.Buffer
	job.SetOut(&out)
	job.SetArgs([]string{"status", "home", "--last", "5"})
	if err := job.Execute(); err != nil || !strings.Contains(out.String(), "home: last 1 run\n") {
		t.Errorf("status: %v\n%s", err, out.String())
	}
	// A test binary is a temporary build: scheduling it is refused.
	job.SetArgs([]string{"schedule", "home", "--at", "02:30", "--dry-run", "--config", "/etc/cairn/profiles.toml"})
	if err := job.Execute(); err == nil || !strings.Contains(err.Error(), "temporary build") {
		t.Errorf("schedule: %v", err)
	}
}
