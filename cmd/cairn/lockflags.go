package main

import (
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/cairn-backup/cairn/internal/repo"
	"github.com/cairn-backup/cairn/remote"
)

// lockFlags are init's object lock flags (docs/s3.md, Object Lock).
type lockFlags struct {
	enabled bool
	mode    string
	lockFor string
}

// config returns the repository's lock settings, or nil without --object-lock.
func (f lockFlags) config() (*repo.LockConfig, error) {
	if !f.enabled {
		return nil, nil
	}
	mode := remote.LockMode(f.mode)
	if mode != remote.Governance && mode != remote.Compliance {
		return nil, fmt.Errorf("--lock-mode %q: want governance or compliance", f.mode)
	}
	d, err := parseLockFor(f.lockFor)
	if err != nil {
		return nil, err
	}
	return &repo.LockConfig{Mode: mode, LockFor: int64(d / time.Second)}, nil
}

// parseLockFor reads "30d" (days) or a Go duration ("12h", "90s"); at least a second.
func parseLockFor(s string) (time.Duration, error) {
	var d time.Duration
	var err error
	if days, ok := strings.CutSuffix(s, "d"); ok {
		var n int
		n, err = strconv.Atoi(days)
		d = time.Duration(n) * 24 * time.Hour
	} else {
		d, err = time.ParseDuration(s)
	}
	if err != nil || d < time.Second {
		return 0, fmt.Errorf("--lock-for %q: want a duration of at least a second, such as 30d or 12h", s)
	}
	return d, nil
}

// keptSnapshots counts the snapshot records locks kept.
func keptSnapshots(kept []repo.KeptByLock) int {
	n := 0
	for _, k := range kept {
		if k.Type == remote.Snapshot {
			n++
		}
	}
	return n
}

// printKeptByLocks says what object locks kept from being deleted, and until when.
func printKeptByLocks(w io.Writer, kept []repo.KeptByLock) {
	if len(kept) == 0 {
		return
	}
	byType := map[remote.Type]int{}
	for _, k := range kept {
		byType[k.Type]++
	}
	var parts []string
	for _, t := range []remote.Type{remote.Snapshot, remote.Data, remote.Index} {
		if byType[t] > 0 {
			parts = append(parts, fmt.Sprintf("%d %s", byType[t], t))
		}
	}
	fmt.Fprintf(w, "kept by object locks: %s, locked until %s at the latest; a later run after that date removes them\n",
		strings.Join(parts, ", "), kept[len(kept)-1].Until.Local().Format(time.DateTime))
}

// printKeyKept says that a removed key file stays, locked, and still opens the
// repository until its lock ends.
func printKeyKept(w io.Writer, kept []repo.KeptByLock) {
	for _, k := range kept {
		if k.Type == remote.Key {
			fmt.Fprintf(w, "key %s is locked until %s: until then it stays, and its password still opens the repository (remove it again after that date)\n",
				k.Name[:min(8, len(k.Name))], k.Until.Local().Format(time.DateTime))
		}
	}
}
