package monitor

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestRecordKeepsLastRuns(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "jobs")
	for i := range Keep + 7 {
		r := Run{Profile: "home/nightly", Start: t0.Add(time.Duration(i) * time.Hour), ExitCode: i % 2}
		if err := Record(dir, r); err != nil {
			t.Fatal(err)
		}
	}
	if err := Record(dir, Run{Profile: "other"}); err != nil {
		t.Fatal(err)
	}
	// The job's own files in the same folder are not profiles.
	os.WriteFile(filepath.Join(dir, "other.prune.json"), []byte(`{"last_prune":"2026-03-01T00:00:00Z"}`), 0o600)
	os.WriteFile(filepath.Join(dir, "other.lock"), nil, 0o600)
	runs, err := Load(dir, "home/nightly")
	if err != nil {
		t.Fatal(err)
	}
	if len(runs) != Keep || !runs[0].Start.Equal(t0.Add(7*time.Hour)) || !runs[Keep-1].Start.Equal(t0.Add(time.Duration(Keep+6)*time.Hour)) {
		t.Errorf("%d runs from %v to %v, want the last %d", len(runs), runs[0].Start, runs[len(runs)-1].Start, Keep)
	}
	names, err := Profiles(dir)
	if err != nil || strings.Join(names, ",") != "home/nightly,other" {
		t.Errorf("profiles %q, %v", names, err)
	}
	ents, _ := os.ReadDir(dir)
	for _, e := range ents {
		if strings.HasSuffix(e.Name(), ".tmp") {
			t.Errorf("temp file left: %s", e.Name())
		}
	}
	if fi, _ := os.Stat(stateFile(dir, "other")); fi.Mode().Perm() != 0o600 {
		t.Errorf("state file mode %v", fi.Mode())
	}
}

func TestLoadNothingRecorded(t *testing.T) {
	runs, err := Load(filepath.Join(t.TempDir(), "none"), "home")
	if err != nil || runs != nil {
		t.Errorf("Load = %v, %v", runs, err)
	}
	names, err := Profiles(filepath.Join(t.TempDir(), "none"))
	if err != nil || names != nil {
		t.Errorf("Profiles = %v, %v", names, err)
	}
}

// A damaged state file never stops the job from recording: it is moved aside, the
// run is recorded, and the error says so.
func TestRecordCorruptState(t *testing.T) {
	dir := t.TempDir()
	path := stateFile(dir, "home")
	os.WriteFile(path, []byte(`{"version":1,"runs":[{"prof`), 0o600)
	if _, err := Load(dir, "home"); err == nil {
		t.Fatal("Load of a truncated file succeeded")
	}
	err := Record(dir, Run{Profile: "home", ExitCode: 3})
	if err == nil || !strings.Contains(err.Error(), ".corrupt") {
		t.Errorf("Record over a corrupt file: %v", err)
	}
	runs, lerr := Load(dir, "home")
	if lerr != nil || len(runs) != 1 || runs[0].ExitCode != 3 {
		t.Errorf("after: %v, %v", runs, lerr)
	}
	if _, err := os.Stat(path + ".corrupt"); err != nil {
		t.Error(err)
	}
}

func TestStateDir(t *testing.T) {
	t.Setenv("XDG_STATE_HOME", "/x/state")
	if d := StateDir(); d != "/x/state/cairn/jobs" {
		t.Errorf("StateDir = %s", d)
	}
	t.Setenv("XDG_STATE_HOME", "")
	t.Setenv("HOME", "/home/ann")
	if d := StateDir(); d != "/home/ann/.local/state/cairn/jobs" {
		t.Errorf("StateDir = %s", d)
	}
}

func TestLastSuccessAndStep(t *testing.T) {
	runs := []Run{
		{Start: t0, End: t0.Add(time.Minute), Steps: []Step{{Name: "backup"}, {Name: "prune"}}},
		{Start: t0.Add(24 * time.Hour), ExitCode: 3, Steps: []Step{{Name: "prune", Skipped: true}}},
		{Start: t0.Add(48 * time.Hour), ExitCode: 1, Steps: []Step{{Name: "prune", ExitCode: 1, Error: "x"}}},
	}
	if got := LastSuccess(runs); !got.Equal(t0.Add(time.Minute)) {
		t.Errorf("LastSuccess = %v", got)
	}
	if got := LastStep(runs, "prune"); !got.Equal(t0) {
		t.Errorf("LastStep(prune) = %v, want the first run's start", got)
	}
	if got := LastStep(runs, "verify"); !got.IsZero() {
		t.Errorf("LastStep(verify) = %v", got)
	}
}

func TestDueFormat(t *testing.T) {
	week := 7 * 24 * time.Hour
	now := t0
	for _, c := range []struct {
		d    Due
		want string
	}{
		{Due{Name: "prune", Every: week}, "prune: due (never ran)"},
		{Due{Name: "prune", Last: now.Add(-8 * 24 * time.Hour), Every: week}, "prune: due (last 8d ago, every 7d)"},
		{Due{Name: "prune", Last: now.Add(-4*24*time.Hour - 21*time.Hour), Every: week, Note: "or at 10% unused"},
			"prune: in 2d 3h (last 4d 21h ago, every 7d), or at 10% unused"},
		{Due{Name: "verify slice", Last: now.Add(-2 * time.Hour), Every: 0}, "verify slice: every run"},
		{Due{Name: "verify slice", Last: now.Add(-90 * time.Minute), Every: 2 * time.Hour}, "verify slice: in 30m (last 1h 30m ago, every 2h)"},
	} {
		if got := c.d.Format(now); got != c.want {
			t.Errorf("got  %q\nwant %q", got, c.want)
		}
	}
}
