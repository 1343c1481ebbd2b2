// Package profile reads the profile file of `cairn job`: one TOML file holding several
// named profiles, each the whole of a nightly job (repository, password source, paths,
// retention, prune and verify policy, S3 and TLS settings, priority, hooks, and where
// the job reports). It checks what it can without a repository, and every error names
// the file, the line and the key.
package profile

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"
)

// FileName is the profile file's name in the configuration folders.
const FileName = "profiles.toml"

// Profile is one named job.
type Profile struct {
	Name string `toml:"-"`

	Repository      string `toml:"repository"`
	PasswordFile    string `toml:"password-file"`
	PasswordCommand string `toml:"password-command"`
	Password        string `toml:"password"` // only in a file no one else can read

	Paths         []string `toml:"paths"`
	Excludes      []string `toml:"excludes"`
	ExcludeFiles  []string `toml:"exclude-files"`
	ExcludeCaches bool     `toml:"exclude-caches"`
	OneFileSystem bool     `toml:"one-file-system"`
	Tags          []string `toml:"tags"`
	Host          string   `toml:"host"`

	Retention       Retention `toml:"retention"`
	Prune           string    `toml:"prune"`             // "daily", "weekly", "monthly", "never" or a duration
	PruneWhenUnused string    `toml:"prune-when-unused"` // e.g. "10%"
	Verify          Verify    `toml:"verify"`

	S3            S3                `toml:"s3"`
	Env           map[string]string `toml:"env"`            // set for the job and its hooks
	LimitUpload   int               `toml:"limit-upload"`   // KiB/s, 0 unlimited
	LimitDownload int               `toml:"limit-download"` // KiB/s, 0 unlimited

	Nice        *int   `toml:"nice"`         // -20 … 19
	IONiceClass string `toml:"ionice-class"` // "realtime", "best-effort" or "idle"
	IONiceLevel *int   `toml:"ionice-level"` // 0 … 7, for realtime and best-effort

	Hooks Hooks `toml:"hooks"`

	HealthcheckURL string `toml:"healthcheck-url"` // pinged at start, success and failure
	PrometheusFile string `toml:"prometheus-file"` // node_exporter text-file collector

	// Parsed by Load from the strings above.
	PruneEvery  time.Duration `toml:"-"` // 0: no interval
	PruneUnused float64       `toml:"-"` // share of 1; 0: not by unused space
	HookTimeout time.Duration `toml:"-"`
	HooksFatal  bool          `toml:"-"` // a failing hook fails the job
}

// Retention is forget's policy, with forget's flag names.
type Retention struct {
	KeepLast          int      `toml:"keep-last"`
	KeepHourly        int      `toml:"keep-hourly"`
	KeepDaily         int      `toml:"keep-daily"`
	KeepWeekly        int      `toml:"keep-weekly"`
	KeepMonthly       int      `toml:"keep-monthly"`
	KeepYearly        int      `toml:"keep-yearly"`
	KeepWithin        string   `toml:"keep-within"`
	KeepWithinHourly  string   `toml:"keep-within-hourly"`
	KeepWithinDaily   string   `toml:"keep-within-daily"`
	KeepWithinWeekly  string   `toml:"keep-within-weekly"`
	KeepWithinMonthly string   `toml:"keep-within-monthly"`
	KeepWithinYearly  string   `toml:"keep-within-yearly"`
	KeepTags          []string `toml:"keep-tags"` // each "a,b": keep snapshots with both
	GroupBy           *string  `toml:"group-by"`  // default "host,paths"
}

// Empty reports whether no keep rule is set (then the job forgets nothing).
func (r Retention) Empty() bool {
	counts := r.KeepLast | r.KeepHourly | r.KeepDaily | r.KeepWeekly | r.KeepMonthly | r.KeepYearly
	withins := r.KeepWithin + r.KeepWithinHourly + r.KeepWithinDaily + r.KeepWithinWeekly + r.KeepWithinMonthly + r.KeepWithinYearly
	return counts == 0 && withins == "" && len(r.KeepTags) == 0
}

// Verify is the verify policy: the packs no earlier verify read, every run, and a
// rolling slice of all packs so that everything is read again every ReadDataDays.
type Verify struct {
	SinceLast    bool `toml:"since-last"`
	ReadDataDays int  `toml:"read-data-days"`
}

// Enabled reports whether the job verifies at all.
func (v Verify) Enabled() bool { return v.SinceLast || v.ReadDataDays > 0 }

// S3 holds the S3 and TLS settings, with the global flags' names.
type S3 struct {
	Region        string   `toml:"region"`
	CACerts       []string `toml:"cacert"`
	TLSClientCert string   `toml:"tls-client-cert"`
	RetryBudget   string   `toml:"retry-budget"` // a Go duration, e.g. "15m"
}

// Hooks are shell command lines (run with sh -c), each with Timeout.
type Hooks struct {
	Before       []string `toml:"before"`
	AfterSuccess []string `toml:"after-success"`
	AfterFailure []string `toml:"after-failure"`
	Always       []string `toml:"always"`
	Timeout      string   `toml:"timeout"`      // default 10m
	HookFailure  string   `toml:"hook-failure"` // "fatal" (default) or "continue"
}

// File is a loaded profile file.
type File struct {
	Path     string
	Profiles map[string]*Profile
}

// Get returns the profile called name.
func (f *File) Get(name string) (*Profile, error) {
	if p, ok := f.Profiles[name]; ok {
		return p, nil
	}
	return nil, fmt.Errorf("%s: no profile %q (profiles: %v)", f.Path, name, sortedNames(f))
}

// ErrNoFile is returned by Find when no profile file exists where it looks.
var ErrNoFile = errors.New("no profile file")

// Find returns the profile file to use: explicit if given, else the first of
// $XDG_CONFIG_HOME/cairn/profiles.toml (~/.config/cairn/…) and /etc/cairn/profiles.toml
// that exists.
func Find(explicit string) (string, error) {
	if explicit != "" {
		return explicit, nil
	}
	places := SearchPath()
	for _, p := range places {
		if _, err := os.Stat(p); err == nil {
			return p, nil
		}
	}
	return "", fmt.Errorf("%w: give --config FILE, or create one of %v", ErrNoFile, places)
}

// SearchPath lists where Find looks, in order.
func SearchPath() []string {
	var out []string
	dir := os.Getenv("XDG_CONFIG_HOME")
	if dir == "" {
		if h, err := os.UserHomeDir(); err == nil {
			dir = filepath.Join(h, ".config")
		}
	}
	if dir != "" {
		out = append(out, filepath.Join(dir, "cairn", FileName))
	}
	return append(out, filepath.Join("/etc/cairn", FileName))
}
