package main

import (
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
)

// pings is a health-check server: it records each request's path and body.
type pings struct {
	mu   sync.Mutex
	got  []string
	body map[string]string
}

func newPings(t *testing.T) (*pings, string) {
	p := &pings{body: map[string]string{}}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		p.mu.Lock()
		p.got = append(p.got, r.URL.Path)
		p.body[r.URL.Path] = string(b)
		p.mu.Unlock()
	}))
	t.Cleanup(srv.Close)
	return p, srv.URL + "/ping/uuid-1"
}

func (p *pings) paths() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return strings.Join(p.got, " ")
}

// A job run pings start then success, records the run for status, and writes a
// Prometheus file node_exporter can parse.
func TestJobRunPingsAndMetrics(t *testing.T) {
	e := newJobEnv(t, newCLI(t))
	p, url := newPings(t)
	prom := filepath.Join(e.dir, "cairn.prom")
	e.profile(fmt.Sprintf("healthcheck-url = %q\nprometheus-file = %q\n", url, prom))
	r, _ := e.job("run", "nightly")
	if r.ExitCode != 0 {
		t.Fatalf("run: %+v", r)
	}
	if got := p.paths(); got != "/ping/uuid-1/start /ping/uuid-1" {
		t.Fatalf("pings: %q, want start then success", got)
	}
	if !strings.Contains(p.body["/ping/uuid-1"], r.SnapshotID[:8]) {
		t.Errorf("success ping does not carry the summary: %q", p.body["/ping/uuid-1"])
	}
	f, err := os.Open(prom)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	parser := expfmt.NewTextParser(model.LegacyValidation)
	families, err := parser.TextToMetricFamilies(f)
	if err != nil {
		t.Fatalf("the Prometheus file does not parse: %v", err)
	}
	files := families["cairn_job_files"]
	if files == nil || files.GetMetric()[0].GetGauge().GetValue() != float64(r.Files) {
		t.Errorf("cairn_job_files: %v, want %d", files, r.Files)
	}
	if out := e.OK("job", "--config", e.config, "status", "nightly"); !strings.Contains(out, r.SnapshotID[:8]) {
		t.Errorf("job status does not show the run:\n%s", out)
	}
}

// A failing before-hook: no backup, and the fail ping carries the hook's output.
func TestJobFailPingCarriesLog(t *testing.T) {
	e := newJobEnv(t, newCLI(t))
	p, url := newPings(t)
	e.profile(fmt.Sprintf("healthcheck-url = %q\n[nightly.hooks]\nbefore = [\"echo 'pg_dump: role missing' >&2; exit 1\"]\n", url))
	r, _ := e.job("run", "nightly")
	if r.ExitCode != 1 || r.SnapshotID != "" {
		t.Fatalf("run: %+v", r)
	}
	if got := p.paths(); got != "/ping/uuid-1/start /ping/uuid-1/fail" {
		t.Fatalf("pings: %q, want start then fail", got)
	}
	if body := p.body["/ping/uuid-1/fail"]; !strings.Contains(body, "pg_dump: role missing") {
		t.Errorf("fail ping body lacks the hook's output: %q", body)
	}
}

// An unreachable ping URL: the backup still runs and succeeds; the miss is reported.
func TestJobUnreachablePing(t *testing.T) {
	e := newJobEnv(t, newCLI(t))
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close() // nothing listens there now
	e.profile(fmt.Sprintf("healthcheck-url = %q\n", "http://"+addr+"/ping/secret-uuid"))
	r, res := e.job("run", "nightly")
	if r.ExitCode != 0 || r.SnapshotID == "" {
		t.Fatalf("run: %+v\n%s", r, res.Stderr)
	}
	if !strings.Contains(res.Stderr, "warning: monitoring") {
		t.Errorf("the missed ping is not reported:\n%s", res.Stderr)
	}
	if strings.Contains(res.Stderr, "secret-uuid") {
		t.Errorf("the ping URL's secret is printed:\n%s", res.Stderr)
	}
}

// job check reports a health check it cannot reach and a missing Prometheus folder
// as warnings (the check passes: the backup would run), and sends the check no ping.
func TestJobCheckWarnsUnreachablePing(t *testing.T) {
	e := newJobEnv(t, newCLI(t))
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	prom := filepath.Join(e.dir, "absent", "cairn.prom")
	e.profile(fmt.Sprintf("healthcheck-url = %q\nprometheus-file = %q\n", "http://"+addr+"/ping/secret-uuid", prom))
	res := e.Run("job", "--config", e.config, "check", "nightly")
	if res.Code != 0 || !strings.Contains(res.Stderr, "warning: health check http://"+addr+"/… unreachable") ||
		!strings.Contains(res.Stderr, "warning: prometheus-file: folder") {
		t.Errorf("exit %d, stderr:\n%s", res.Code, res.Stderr)
	}
	if strings.Contains(res.Stdout+res.Stderr, "secret-uuid") {
		t.Errorf("check prints the ping URL's secret:\n%s%s", res.Stdout, res.Stderr)
	}
	p, url := newPings(t)
	e.profile(fmt.Sprintf("healthcheck-url = %q\n", url))
	if res := e.Run("job", "--config", e.config, "check", "nightly"); res.Code != 0 || strings.Contains(res.Stderr, "warning") || p.paths() != "" {
		t.Errorf("reachable check: exit %d, pings %q, stderr:\n%s", res.Code, p.paths(), res.Stderr)
	}
}

// A run stopped by SIGTERM (systemctl stop, a shutdown) exits 130, pings /fail and
// still runs the always-hooks.
func TestJobRunTerminated(t *testing.T) {
	e := newJobEnv(t, newCLI(t))
	p, url := newPings(t)
	started := filepath.Join(e.dir, "started")
	e.profile(fmt.Sprintf("healthcheck-url = %q\n[nightly.hooks]\nbefore = [\"touch %s; sleep 30\"]\nalways = [\"touch %s/always\"]\n",
		url, started, e.dir))
	cmd := e.Cmd("job", "--config", e.config, "--json", "run", "nightly")
	var out strings.Builder
	cmd.Stdout = &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		if _, err := os.Stat(started); err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the before-hook did not start")
		}
	}
	_ = cmd.Process.Signal(syscall.SIGTERM)
	_ = cmd.Wait()
	if code := cmd.ProcessState.ExitCode(); code != exitInterrupted {
		t.Fatalf("exit %d, want %d\n%s", code, exitInterrupted, out.String())
	}
	if got := p.paths(); got != "/ping/uuid-1/start /ping/uuid-1/fail" {
		t.Errorf("pings %q, want start then fail", got)
	}
	if _, err := os.Stat(filepath.Join(e.dir, "always")); err != nil {
		t.Errorf("the always-hook did not run: %v", err)
	}
	if !strings.Contains(out.String(), `"exit_code":130`) {
		t.Errorf("the run does not say 130:\n%s", out.String())
	}
}
