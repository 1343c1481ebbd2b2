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

func loadPruneState(path string) (pruneState, error) {
	var st pruneState
	data, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return st, nil
	}
	if err == nil {
		err = json.Unmarshal(data, &st)
	}
	if err != nil {
		return st, fmt.Errorf("prune state %s: %w", path, err)
	}
	return st, nil
}

// savePruneState writes st atomically: a temp file, synced, renamed, the folder synced.
func savePruneState(path string, st pruneState) error {
	data, _ := json.Marshal(st)
	tmp, err := os.CreateTemp(filepath.Dir(path), ".prune-*.tmp")
	if err != nil {
		return fmt.Errorf("save prune state: %w", err)
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
		return fmt.Errorf("save prune state: %w", err)
	}
	if d, err := os.Open(filepath.Dir(path)); err == nil {
		_ = d.Sync()
		d.Close()
	}
	return nil
}
