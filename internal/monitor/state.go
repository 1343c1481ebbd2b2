package monitor

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"
)

// Keep is how many runs Record keeps per profile.
const Keep = 50

// stateVersion is the version of a profile's state file.
const stateVersion = 1

// history is a profile's state file: its last runs, oldest first.
type history struct {
	Version int   `json:"version"`
	Runs    []Run `json:"runs"`
}

// StateDir is where job state lives: $XDG_STATE_HOME/cairn/jobs, by default
// ~/.local/state/cairn/jobs ("" when neither is known).
func StateDir() string {
	if d := os.Getenv("XDG_STATE_HOME"); d != "" {
		return filepath.Join(d, "cairn", "jobs")
	}
	if h, err := os.UserHomeDir(); err == nil {
		return filepath.Join(h, ".local", "state", "cairn", "jobs")
	}
	return ""
}

// runsSuffix ends the name of a profile's state file; the job keeps other files
// beside it (NAME.lock, NAME.prune.json).
const runsSuffix = ".runs.json"

// stateFile names a profile's file; any profile name maps to one file name.
func stateFile(dir, profile string) string {
	return filepath.Join(dir, url.PathEscape(profile)+runsSuffix)
}

// Record appends r to its profile's file in dir (NAME.runs.json), keeping the last Keep runs, and
// writes it atomically. Runs of one profile must not be recorded concurrently (a job
// never overlaps itself). A file that does not decode is moved aside to NAME.corrupt;
// the run is still recorded and the error says what happened.
func Record(dir string, r Run) error {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("record run: %w", err)
	}
	path := stateFile(dir, r.Profile)
	runs, lerr := Load(dir, r.Profile)
	if lerr != nil {
		if err := os.Rename(path, path+".corrupt"); err != nil {
			return fmt.Errorf("record run: %w", errors.Join(lerr, err))
		}
		lerr = fmt.Errorf("%w; moved aside to %s.corrupt, history starts anew", lerr, path)
	}
	runs = append(runs, r)
	if len(runs) > Keep {
		runs = runs[len(runs)-Keep:]
	}
	data, err := json.MarshalIndent(history{Version: stateVersion, Runs: runs}, "", "\t")
	if err != nil {
		return err
	}
	if err := WriteAtomic(path, append(data, '\n'), 0o600); err != nil {
		return fmt.Errorf("record run: %w", err)
	}
	return lerr
}

// Load returns the recorded runs of a profile, oldest first; none (and no error) when
// nothing was recorded.
func Load(dir, profile string) ([]Run, error) {
	path := stateFile(dir, profile)
	data, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("load job state: %w", err)
	}
	var h history
	if err := json.Unmarshal(data, &h); err != nil {
		return nil, fmt.Errorf("job state %s: %w", path, err)
	}
	if h.Version != stateVersion {
		return nil, fmt.Errorf("job state %s: version %d, want %d", path, h.Version, stateVersion)
	}
	return h.Runs, nil
}

// Profiles lists the profiles with recorded runs in dir, sorted.
func Profiles(dir string) ([]string, error) {
	ents, err := os.ReadDir(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("list job state: %w", err)
	}
	var names []string
	for _, e := range ents {
		base, ok := strings.CutSuffix(e.Name(), runsSuffix)
		if !ok || e.IsDir() || strings.HasPrefix(e.Name(), ".") {
			continue
		}
		if name, err := url.PathUnescape(base); err == nil {
			names = append(names, name)
		}
	}
	slices.Sort(names)
	return names, nil
}

// LastSuccess is the end of the newest successful run (exit 0), zero if none.
func LastSuccess(runs []Run) time.Time {
	for i := len(runs) - 1; i >= 0; i-- {
		if runs[i].Success() {
			return runs[i].End
		}
	}
	return time.Time{}
}

// LastStep is the start of the newest run in which the named step ran without error
// and was not skipped (e.g. "prune", "verify"), zero if none.
func LastStep(runs []Run, name string) time.Time {
	for i := len(runs) - 1; i >= 0; i-- {
		for _, s := range runs[i].Steps {
			if s.Name == name && !s.Skipped && s.Error == "" && s.ExitCode == 0 {
				return runs[i].Start
			}
		}
	}
	return time.Time{}
}
