// Package monitor tells the world how a nightly job went: health-check pings, a
// Prometheus text file for node_exporter, and the local record of past runs that
// `cairn job status` reads. It knows nothing of repositories: the job hands it a Run.
package monitor

import "time"

// Run is one `cairn job run`, as the job reports it and monitoring records it.
type Run struct {
	Profile  string    `json:"profile"`
	Start    time.Time `json:"start"`
	End      time.Time `json:"end"`
	ExitCode int       `json:"exit_code"`
	Error    string    `json:"error,omitempty"` // the first error, one line
	Steps    []Step    `json:"steps"`           // in the order they ran

	SnapshotID  string `json:"snapshot_id,omitempty"`
	Files       int64  `json:"files"`        // files in the new snapshot
	BytesAdded  int64  `json:"bytes_added"`  // new data before compression
	BytesStored int64  `json:"bytes_stored"` // what the backup uploaded
	Errors      int64  `json:"errors"`       // files that could not be read
	RepoSize    int64  `json:"repo_size"`    // bytes in the repository after the run, -1 unknown
	Snapshots   int    `json:"snapshots"`    // snapshots kept after forget
	Pruned      bool   `json:"pruned"`       // whether prune ran this time
	Verify      string `json:"verify"`       // "ok", "damaged", "skipped" or "failed"
}

// Step is one stage of a run: a hook, backup, forget, prune or verify.
type Step struct {
	Name     string        `json:"name"`
	Duration time.Duration `json:"duration_ns"`
	ExitCode int           `json:"exit_code"`
	Skipped  bool          `json:"skipped,omitempty"`
	Error    string        `json:"error,omitempty"`
}

// Success reports whether the run ended with exit code 0.
func (r Run) Success() bool { return r.ExitCode == 0 }
