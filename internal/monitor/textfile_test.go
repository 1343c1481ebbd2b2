package monitor

import (
	"bytes"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
)

var t0 = time.Date(2026, 3, 4, 2, 30, 0, 0, time.UTC)

func sampleRun(exit int) Run {
	return Run{
		Profile: `home "nightly"`, Start: t0, End: t0.Add(90 * time.Second), ExitCode: exit,
		Files: 1200, BytesAdded: 5 << 20, BytesStored: 2 << 20, Errors: 2,
		RepoSize: 7 << 30, Snapshots: 23, Verify: "ok",
	}
}

// parse reads a text file with Prometheus's own parser and returns each gauge's value
// for the sample profile, failing on anything the parser refuses.
func parse(t *testing.T, text []byte) map[string]float64 {
	t.Helper()
	p := expfmt.NewTextParser(model.LegacyValidation)
	fams, err := p.TextToMetricFamilies(bytes.NewReader(text))
	if err != nil {
		t.Fatalf("the Prometheus parser refuses the file: %v\n%s", err, text)
	}
	got := map[string]float64{}
	for name, f := range fams {
		if f.GetHelp() == "" || f.GetType().String() != "GAUGE" || len(f.GetMetric()) != 1 {
			t.Errorf("%s: help %q, type %v, %d series", name, f.GetHelp(), f.GetType(), len(f.GetMetric()))
			continue
		}
		m := f.GetMetric()[0]
		if l := m.GetLabel(); len(l) != 1 || l[0].GetName() != "profile" || l[0].GetValue() != `home "nightly"` {
			t.Errorf("%s: labels %v", name, l)
		}
		got[name] = m.GetGauge().GetValue()
	}
	return got
}

func TestTextfileParses(t *testing.T) {
	path := filepath.Join(t.TempDir(), "cairn.prom")
	if err := WriteTextfile(path, sampleRun(0), Facts{LastPrune: t0.Add(-48 * time.Hour)}); err != nil {
		t.Fatal(err)
	}
	text, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	got := parse(t, text)
	if strings.Contains(string(text), "e+") {
		t.Errorf("a value in exponent form; people read this file too:\n%s", text)
	}
	end := float64(t0.Add(90 * time.Second).Unix())
	want := map[string]float64{
		"cairn_job_last_success_timestamp_seconds": end,
		"cairn_job_last_run_timestamp_seconds":     end,
		"cairn_job_duration_seconds":               90,
		"cairn_job_exit_code":                      0,
		"cairn_job_bytes_added":                    5 << 20,
		"cairn_job_bytes_stored":                   2 << 20,
		"cairn_job_files":                          1200,
		"cairn_job_errors":                         2,
		"cairn_repository_size_bytes":              7 << 30,
		"cairn_snapshots":                          23,
		"cairn_verify_ok":                          1,
		"cairn_job_last_prune_timestamp_seconds":   float64(t0.Add(-48 * time.Hour).Unix()),
	}
	for name, v := range want {
		if g, ok := got[name]; !ok || g != v {
			t.Errorf("%s = %v (present %v), want %v", name, g, ok, v)
		}
	}
	if len(got) != len(want) {
		t.Errorf("%d metrics, want %d: %v", len(got), len(want), got)
	}
}

// A failed run keeps the last success time of the file it replaces: an alert on
// "no success for 2 days" must not be reset by a failure.
func TestTextfileFailureKeepsLastSuccess(t *testing.T) {
	path := filepath.Join(t.TempDir(), "cairn.prom")
	ok := sampleRun(0)
	if err := WriteTextfile(path, ok, Facts{}); err != nil {
		t.Fatal(err)
	}
	bad := sampleRun(1)
	bad.Start, bad.End = t0.Add(24*time.Hour), t0.Add(24*time.Hour+time.Second)
	bad.Verify, bad.RepoSize = "damaged", -1
	if err := WriteTextfile(path, bad, Facts{}); err != nil {
		t.Fatal(err)
	}
	text, _ := os.ReadFile(path)
	got := parse(t, text)
	if g := got["cairn_job_last_success_timestamp_seconds"]; g != float64(ok.End.Unix()) {
		t.Errorf("last success = %v, want the earlier run's end %v", g, ok.End.Unix())
	}
	if got["cairn_job_exit_code"] != 1 || got["cairn_verify_ok"] != 0 || got["cairn_job_last_run_timestamp_seconds"] != float64(bad.End.Unix()) {
		t.Errorf("failed run: %v", got)
	}
	if _, ok := got["cairn_repository_size_bytes"]; ok {
		t.Error("an unknown repository size (-1) is written; it should be left out")
	}
	// With no old file, the state's last success is used; a never-successful job says 0.
	os.Remove(path)
	if err := WriteTextfile(path, bad, Facts{}); err != nil {
		t.Fatal(err)
	}
	text, _ = os.ReadFile(path)
	if g := parse(t, text)["cairn_job_last_success_timestamp_seconds"]; g != 0 {
		t.Errorf("never successful: last success = %v, want 0", g)
	}
	if err := WriteTextfile(path, bad, Facts{LastSuccess: ok.End}); err != nil {
		t.Fatal(err)
	}
	text, _ = os.ReadFile(path)
	if g := parse(t, text)["cairn_job_last_success_timestamp_seconds"]; g != float64(ok.End.Unix()) {
		t.Errorf("from state: last success = %v, want %v", g, ok.End.Unix())
	}
}

// The file is replaced, never rewritten in place: a reader that opened the old file
// keeps reading all of it, and no temp file is left where the collector looks.
func TestTextfileAtomic(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "cairn.prom")
	if err := WriteTextfile(path, sampleRun(0), Facts{}); err != nil {
		t.Fatal(err)
	}
	old, _ := os.ReadFile(path)
	reader, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer reader.Close()
	next := sampleRun(1)
	next.Files = 99999
	if err := WriteTextfile(path, next, Facts{}); err != nil {
		t.Fatal(err)
	}
	seen, err := io.ReadAll(reader)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(seen, old) {
		t.Errorf("a reader of the old file saw it change: the write was in place\n%s", seen)
	}
	now, _ := os.ReadFile(path)
	if !strings.Contains(string(now), "cairn_job_files{") || parse(t, now)["cairn_job_files"] != 99999 {
		t.Errorf("new file:\n%s", now)
	}
	ents, _ := os.ReadDir(dir)
	if len(ents) != 1 {
		t.Errorf("files left in the folder: %v", ents)
	}
	if fi, _ := os.Stat(path); fi.Mode().Perm() != 0o644 {
		t.Errorf("mode %v, want 0644 (node_exporter may run as another user)", fi.Mode())
	}
}

func TestTextfileUnwritableFolder(t *testing.T) {
	err := WriteTextfile(filepath.Join(t.TempDir(), "missing", "cairn.prom"), sampleRun(0), Facts{})
	if err == nil || !strings.Contains(err.Error(), "write metrics") {
		t.Errorf("err = %v", err)
	}
}
