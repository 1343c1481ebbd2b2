package main

import (
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/cairn-backup/cairn/internal/monitor"
)

// jobMonitor is where a job run reports: its health check, its Prometheus file and
// the local record `job status` reads. Nothing it does changes the run's exit code: a
// miss is returned for the summary to show.
type jobMonitor struct {
	pinger   *monitor.Pinger // nil: no health check
	textfile string          // "": no Prometheus file
	stateDir string          // "": nothing recorded
	log      monitor.TailWriter
	started  error // the start ping's miss, reported with the others
}

// newJobMonitor is the monitoring of one profile: healthURL and textfile as the
// profile gives them (either may be empty), stateDir usually monitor.StateDir().
func newJobMonitor(healthURL, textfile, stateDir string) *jobMonitor {
	m := &jobMonitor{textfile: textfile, stateDir: stateDir}
	if healthURL != "" {
		m.pinger = monitor.NewPinger(healthURL)
	}
	return m
}

// Log is the writer to put beside the run's stderr: a failure ping carries its end.
func (m *jobMonitor) Log() io.Writer { return &m.log }

// start pings URL/start; a miss is kept for finish to report.
func (m *jobMonitor) start(ctx context.Context) {
	if m.pinger != nil {
		m.started = m.pinger.Start(ctx)
	}
}

// finish records the run, writes the Prometheus file and pings success or failure
// with summary (success) or the log's end (failure). It returns every miss, joined.
func (m *jobMonitor) finish(ctx context.Context, r *monitor.Run, summary string) error {
	errs := []error{m.started}
	var facts monitor.Facts
	if m.stateDir != "" {
		runs, err := monitor.Load(m.stateDir, r.Profile)
		errs = append(errs, err)
		facts = monitor.Facts{LastSuccess: monitor.LastSuccess(runs), LastPrune: monitor.LastStep(append(runs, *r), "prune")}
		errs = append(errs, monitor.Record(m.stateDir, *r))
	}
	if m.textfile != "" {
		errs = append(errs, monitor.WriteTextfile(m.textfile, *r, facts))
	}
	if m.pinger != nil {
		var err error
		if r.Success() {
			err = m.pinger.Success(ctx, summary)
		} else {
			log := m.log.Bytes()
			if len(log) == 0 {
				log = []byte(r.Error)
			}
			err = m.pinger.Fail(ctx, log)
		}
		errs = append(errs, err)
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("monitoring: %w", err)
	}
	return nil
}
