package job

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"

	"golang.org/x/sys/unix"
)

// lock takes the profile's lock file in dir (flock, released when the process ends
// however it ends). Held by another run, it returns ErrBusy at once, or with wait
// retries until it is free or ctx ends.
func lock(ctx context.Context, dir, name string, wait bool) (func(), error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("job state folder: %w", err)
	}
	path := filepath.Join(dir, name+".lock")
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("job lock: %w", err)
	}
	for {
		err := unix.Flock(int(f.Fd()), unix.LOCK_EX|unix.LOCK_NB)
		if err == nil {
			_ = f.Truncate(0)
			_, _ = f.WriteAt([]byte(fmt.Sprintf("%d\n", os.Getpid())), 0)
			return func() { f.Close() }, nil
		}
		if !errors.Is(err, unix.EWOULDBLOCK) {
			f.Close()
			return nil, fmt.Errorf("job lock %s: %w", path, err)
		}
		if !wait {
			pid, _ := os.ReadFile(path)
			f.Close()
			return nil, fmt.Errorf("%w (profile %s, process %s; --wait waits for it)", ErrBusy, name, strings.TrimSpace(string(pid)))
		}
		select {
		case <-ctx.Done():
			f.Close()
			return nil, ctx.Err()
		case <-time.After(200 * time.Millisecond):
		}
	}
}

// pruneState is what a profile remembers of its prunes.
type pruneState struct {
	Last time.Time `json:"last_prune"`
}

// LastPrune is when profile name last pruned, from its state in dir (zero: never).
func LastPrune(dir, name string) (time.Time, error) {
	st, err := loadPruneState(filepath.Join(dir, name+".prune.json"))
	return st.Last, err
}

func loadPruneState(path string) (pruneState, error) {
	var st pruneState
	return st, loadState(path, "prune", &st)
}

// verifyState is where a profile's rolling verify stands: the slice the next verify
// reads. It moves on only after a verify that read its slice, so a missed or failed
// night reads the same slice again and every pack is read within Of runs.
type verifyState struct {
	Next uint64 `json:"next_slice"` // 1 … Of
	Of   uint64 `json:"of"`
}

// NextSlice is the slice n of m the next verify of profile name reads, from its
// state in dir, for a policy of days slices.
func NextSlice(dir, name string, days int) (n, m uint64, err error) {
	var st verifyState
	err = loadState(verifyStatePath(dir, name), "verify", &st)
	m = uint64(days)
	if st.Next < 1 || st.Of != m {
		// None yet, or read-data-days changed: start the new cycle at its first slice.
		return 1, m, err
	}
	return st.Next, m, err
}

// advanceSlice records that slice n of m was read: the next verify reads n+1.
func advanceSlice(dir, name string, n, m uint64) error {
	return saveState(verifyStatePath(dir, name), "verify", verifyState{Next: n%m + 1, Of: m})
}

func verifyStatePath(dir, name string) string { return filepath.Join(dir, name+".verify.json") }

// loadState reads the JSON state file at path into v; a missing file leaves v as it is.
func loadState(path, what string, v any) error {
	data, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err == nil {
		err = json.Unmarshal(data, v)
	}
	if err != nil {
		return fmt.Errorf("%s state %s: %w", what, path, err)
	}
	return nil
}

func savePruneState(path string, st pruneState) error { return saveState(path, "prune", st) }

// saveState writes v atomically: a temp file, synced, renamed, the folder synced.
func saveState(path, what string, v any) error {
	data, _ := json.Marshal(v)
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+what+"-*.tmp")
	if err != nil {
		return fmt.Errorf("save %s state: %w", what, err)
	}
	defer os.Remove(tmp.Name())
	_, err = tmp.Write(append(data, '\n'))
	if err == nil {
		err = tmp.Sync()
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp.Name(), path)
	}
	if err != nil {
		return fmt.Errorf("save %s state: %w", what, err)
	}
	if d, err := os.Open(filepath.Dir(path)); err == nil {
		_ = d.Sync()
		d.Close()
	}
	return nil
}
