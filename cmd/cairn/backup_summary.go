package main

import (
	"encoding/json"
	"fmt"
	"io"
	"path/filepath"
	"strings"
	"time"

	"github.com/cairn-backup/cairn/backup/archive"
)

// backupRun is what the summary tells beside the engine's result: when, where, what.
type backupRun struct {
	start, end time.Time
	host, repo string
	paths      []string
}

type backupSummary struct {
	MessageType    string    `json:"message_type"`
	Snapshot       string    `json:"snapshot_id"`
	Start          time.Time `json:"backup_start"`
	End            time.Time `json:"backup_end"`
	Host           string    `json:"host"`
	Paths          []string  `json:"paths"`
	Repository     string    `json:"repository"`
	Root           string    `json:"root"`
	DryRun         bool      `json:"dry_run,omitempty"`
	Skipped        bool      `json:"skipped,omitempty"` // --skip-if-unchanged: snapshot_id is the parent
	FilesNew       uint64    `json:"files_new"`
	FilesChanged   uint64    `json:"files_changed"`
	FilesUnchanged uint64    `json:"files_unchanged"`
	Dirs           uint64    `json:"dirs"`
	BytesTotal     uint64    `json:"total_bytes"`
	BytesRead      uint64    `json:"bytes_read"`
	BytesAdded     uint64    `json:"bytes_added"`
	BytesStored    uint64    `json:"bytes_stored"`
	Unreadable     int       `json:"unreadable_files"`
	Seconds        float64   `json:"duration_seconds"`
	LocksNeeded    int       `json:"locks_needed,omitempty"`
	LocksRead      int       `json:"locks_read,omitempty"`
	LocksExtended  int       `json:"locks_extended,omitempty"`
}

func printBackupSummary(w io.Writer, asJSON bool, res *archive.Result, run backupRun) error {
	s := res.Stats
	paths := absPaths(run.paths)
	sum := backupSummary{
		MessageType: "summary", Snapshot: res.Snapshot.String(), Root: res.Root.String(), DryRun: res.DryRun, Skipped: res.Skipped,
		Start: run.start, End: run.end, Host: run.host, Paths: paths, Repository: run.repo,
		FilesNew: s.NewFiles, FilesChanged: s.ChangedFiles, FilesUnchanged: s.UnchangedFiles, Dirs: s.Dirs,
		BytesTotal: s.Bytes, BytesRead: s.BytesRead, BytesAdded: s.BytesAdded, BytesStored: s.BytesStored,
		Unreadable: len(res.Unreadable), Seconds: time.Duration(s.DurationNS).Seconds(),
		LocksNeeded: res.Locks.Needed, LocksRead: res.Locks.Read, LocksExtended: res.Locks.Extended,
	}
	if asJSON {
		return json.NewEncoder(w).Encode(sum)
	}
	verb := "saved"
	switch {
	case res.Skipped:
		verb = "unchanged: no new snapshot made (--skip-if-unchanged)"
	case res.DryRun:
		verb = "would be saved (dry run)"
	}
	fmt.Fprintf(w, "Files:      %d new, %d changed, %d unchanged (%d directories)\n", s.NewFiles, s.ChangedFiles, s.UnchangedFiles, s.Dirs)
	fmt.Fprintf(w, "Data:       %s read of %s, %s added (%s stored)\n", bytesIEC(s.BytesRead), bytesIEC(s.Bytes), bytesIEC(s.BytesAdded), bytesIEC(s.BytesStored))
	if l := res.Locks; l.Needed > 0 {
		fmt.Fprintf(w, "Locks:      %d objects locked, %d locks read, %d extended\n", l.Needed, l.Read, l.Extended)
	}
	fmt.Fprintf(w, "Root:       %s\n", res.Root)
	fmt.Fprintf(w, "Paths:      %s on host %s\n", strings.Join(paths, ", "), run.host)
	fmt.Fprintf(w, "Repository: %s\n", run.repo)
	fmt.Fprintf(w, "Time:       %s to %s\n", run.start.Format(time.DateTime), run.end.Format(time.DateTime))
	fmt.Fprintf(w, "snapshot %s %s in %s\n", res.Snapshot.Short(), verb, time.Duration(s.DurationNS).Round(time.Millisecond))
	return nil
}

// absPaths are the backed-up paths as the snapshot records them: absolute.
func absPaths(in []string) []string {
	out := make([]string, len(in))
	for i, p := range in {
		out[i] = p
		if abs, err := filepath.Abs(p); err == nil {
			out[i] = abs
		}
	}
	return out
}

func bytesIEC(n uint64) string {
	const unit = 1024
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	div, exp := uint64(unit), 0
	for m := n / unit; m >= unit; m /= unit {
		div *= unit
		exp++
	}
	return fmt.Sprintf("%.2f %ciB", float64(n)/float64(div), "KMGTPE"[exp])
}
