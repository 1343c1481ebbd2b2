package main

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cairn-backup/cairn/internal/monitor"
)

func TestJobMonitorPingsRecordsAndWrites(t *testing.T) {
	var mu sync.Mutex
	var pings []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		mu.Lock()
		pings = append(pings, r.URL.Path+" "+string(body))
		mu.Unlock()
	}))
	defer srv.Close()
	dir := t.TempDir()
	prom, state := filepath.Join(dir, "cairn.prom"), filepath.Join(dir, "jobs")
	ctx := context.Background()
	start := time.Now().Truncate(time.Second)

	m := newJobMonitor(srv.URL+"/uuid", prom, state)
	m.start(ctx)
	ok := &monitor.Run{Profile: "nightly", Start: start, End: start.Add(time.Minute), SnapshotID: "1a2b3c4d",
		Steps: []monitor.Step{{Name: "backup"}, {Name: "prune"}}}
	if err := m.finish(ctx, ok, "snapshot 1a2b3c4d saved"); err != nil {
		t.Fatal(err)
	}

	m = newJobMonitor(srv.URL+"/uuid", prom, state)
	m.start(ctx)
	fmt.Fprintf(m.Log(), "hook before: pg_dump: connection refused\n")
	bad := &monitor.Run{Profile: "nightly", Start: start.Add(24 * time.Hour), End: start.Add(24*time.Hour + time.Second),
		ExitCode: 1, Error: "hook before failed"}
	if err := m.finish(ctx, bad, "unused"); err != nil {
		t.Fatal(err)
	}

	want := "/uuid/start |/uuid snapshot 1a2b3c4d saved|/uuid/start |/uuid/fail hook before: pg_dump: connection refused\n"
	if got := strings.Join(pings, "|"); got != want {
		t.Errorf("pings %q\nwant  %q", got, want)
	}
	runs, err := monitor.Load(state, "nightly")
	if err != nil || len(runs) != 2 || runs[1].ExitCode != 1 {
		t.Errorf("recorded %v, %v", runs, err)
	}
	text, _ := os.ReadFile(prom)
	for _, line := range []string{
		fmt.Sprintf(`cairn_job_last_success_timestamp_seconds{profile="nightly"} %d`, ok.End.Unix()),
		fmt.Sprintf(`cairn_job_last_prune_timestamp_seconds{profile="nightly"} %d`, ok.Start.Unix()),
		`cairn_job_exit_code{profile="nightly"} 1`,
	} {
		if !strings.Contains(string(text), line) {
			t.Errorf("metrics lack %q:\n%s", line, text)
		}
	}
}

// An unreachable health check is reported, and everything else is still done.
func TestJobMonitorUnreachable(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	dir := t.TempDir()
	m := newJobMonitor("http://"+addr+"/SECRET", filepath.Join(dir, "cairn.prom"), dir)
	m.pinger.Backoff = time.Millisecond
	m.start(context.Background())
	r := &monitor.Run{Profile: "nightly", Start: time.Now(), End: time.Now()}
	err = m.finish(context.Background(), r, "ok")
	if err == nil || strings.Count(err.Error(), "ping http://"+addr+"/…") != 2 || strings.Contains(err.Error(), "SECRET") {
		t.Errorf("err = %v, want both misses, redacted", err)
	}
	if runs, _ := monitor.Load(dir, "nightly"); len(runs) != 1 {
		t.Errorf("run not recorded: %v", runs)
	}
	if _, err := os.Stat(filepath.Join(dir, "cairn.prom")); err != nil {
		t.Error(err)
	}
}

func TestJobMonitorNothingConfigured(t *testing.T) {
	m := newJobMonitor("", "", "")
	m.start(context.Background())
	if err := m.finish(context.Background(), &monitor.Run{Profile: "x", ExitCode: 1}, ""); err != nil {
		t.Error(err)
	}
}
