package monitor

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"
)

// Facts are what the job knows beside the run itself.
type Facts struct {
	// LastSuccess is the end of the last successful run before this one (from Load);
	// when the run failed, the metric keeps the later of it and the old file's value.
	LastSuccess time.Time
	// LastPrune is when prune last ran (zero: unknown, the metric is left out).
	LastPrune time.Time
}

// metric is one line of the text file with its HELP.
type metric struct {
	name, help string
	value      float64
}

// Textfile returns the Prometheus text exposition of a run, for node_exporter's
// text-file collector. Every metric is a gauge labelled with the profile.
func Textfile(r Run, f Facts) []byte {
	ms := []metric{
		{"cairn_job_last_success_timestamp_seconds", "End of the last successful run (0: none yet), Unix seconds.", unix(lastSuccess(r, f))},
		{"cairn_job_last_run_timestamp_seconds", "End of the last run, Unix seconds.", unix(r.End)},
		{"cairn_job_duration_seconds", "Wall time of the last run.", r.End.Sub(r.Start).Seconds()},
		{"cairn_job_exit_code", "Exit code of the last run (0 ok, 3 some files unreadable, others failed).", float64(r.ExitCode)},
		{"cairn_job_bytes_added", "New data the last backup added, before compression.", float64(r.BytesAdded)},
		{"cairn_job_bytes_stored", "Bytes the last backup uploaded.", float64(r.BytesStored)},
		{"cairn_job_files", "Files in the last snapshot.", float64(r.Files)},
		{"cairn_job_errors", "Files the last backup could not read.", float64(r.Errors)},
		{"cairn_snapshots", "Snapshots in the repository after forget.", float64(r.Snapshots)},
	}
	if r.RepoSize >= 0 {
		ms = append(ms, metric{"cairn_repository_size_bytes", "Bytes in the repository after the run.", float64(r.RepoSize)})
	}
	switch r.Verify {
	case "ok":
		ms = append(ms, metric{"cairn_verify_ok", "1 if the last verify found no damage, 0 if it found damage or failed.", 1})
	case "damaged", "failed":
		ms = append(ms, metric{"cairn_verify_ok", "1 if the last verify found no damage, 0 if it found damage or failed.", 0})
	}
	if !f.LastPrune.IsZero() {
		ms = append(ms, metric{"cairn_job_last_prune_timestamp_seconds", "When prune last ran, Unix seconds.", unix(f.LastPrune)})
	}
	var b bytes.Buffer
	label := `{profile="` + escapeLabel(r.Profile) + `"}`
	for _, m := range ms {
		fmt.Fprintf(&b, "# HELP %s %s\n# TYPE %s gauge\n%s%s %s\n",
			m.name, m.help, m.name, m.name, label, strconv.FormatFloat(m.value, 'f', -1, 64))
	}
	return b.Bytes()
}

// WriteTextfile writes the run's metrics to path atomically: a temp file in the same
// folder (whose name does not end in .prom, so the collector never reads it), synced,
// then renamed over path. When the run failed, the last success time is kept from
// the file it replaces if that is later than f.LastSuccess.
func WriteTextfile(path string, r Run, f Facts) error {
	if !r.Success() {
		if old, err := os.ReadFile(path); err == nil {
			if t, ok := readGauge(old, "cairn_job_last_success_timestamp_seconds", r.Profile); ok && t.After(f.LastSuccess) {
				f.LastSuccess = t
			}
		}
	}
	if err := WriteAtomic(path, Textfile(r, f), 0o644); err != nil {
		return fmt.Errorf("write metrics: %w", err)
	}
	return nil
}

func lastSuccess(r Run, f Facts) time.Time {
	if r.Success() {
		return r.End
	}
	return f.LastSuccess
}

func unix(t time.Time) float64 {
	if t.IsZero() {
		return 0
	}
	return float64(t.UnixNano()) / 1e9
}

func escapeLabel(s string) string {
	return strings.NewReplacer(`\`, `\\`, `"`, `\"`, "\n", `\n`).Replace(s)
}

// readGauge finds name{profile="…"} in a text file this package wrote.
func readGauge(text []byte, name, profile string) (time.Time, bool) {
	prefix := name + `{profile="` + escapeLabel(profile) + `"} `
	sc := bufio.NewScanner(bytes.NewReader(text))
	for sc.Scan() {
		v, ok := strings.CutPrefix(sc.Text(), prefix)
		if !ok {
			continue
		}
		sec, err := strconv.ParseFloat(v, 64)
		if err != nil || sec <= 0 {
			return time.Time{}, false
		}
		return time.Unix(0, int64(sec*1e9)), true
	}
	return time.Time{}, false
}
