package repo

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"syscall"

	"github.com/cairn-backup/cairn/internal/digest"
)

// The client remembers, beside its pin of each repository, every snapshot id it has
// seen there (made by its backups, or listed by its verify). A snapshot that later
// disappears without forget recording it (state.go) is then reported: storage that
// rolls the history back, or deletes its newest snapshot, cannot do so unnoticed by a
// client that saw it. With no state folder (Options.StateDir empty) nothing is
// remembered.

// history is the file StateDir/history/<repository id>.json: one history per
// repository, however many locations (URLs, mount points) reach it. Earlier releases
// kept it by location (legacyHistoryPath); it is read from there until first saved.
type history struct {
	Location string      `json:"location"`
	ID       digest.ID   `json:"repository"`
	Seen     []digest.ID `json:"seen"`
}

func (r *Repo) historyPath() string {
	return filepath.Join(r.opts.StateDir, "history", r.cfg.ID.String()+".json")
}

func (r *Repo) legacyHistoryPath() string {
	pin := pinStore{r.opts.StateDir}.path(r.store.Location()) // named like the pin
	return filepath.Join(r.opts.StateDir, "history", filepath.Base(pin))
}

// SeenSnapshots returns the ids of every snapshot this client remembers seeing in the
// repository.
func (r *Repo) SeenSnapshots() ([]digest.ID, error) {
	if r.opts.StateDir == "" {
		return nil, nil
	}
	h, err := r.readHistory()
	if err != nil {
		return nil, err
	}
	return h.Seen, nil
}

// RememberSnapshots adds ids to the snapshots this client has seen. Backup calls it
// with the snapshot it made, verify with those it found after a clean run.
func (r *Repo) RememberSnapshots(ids []digest.ID) error {
	return r.updateHistory(func(seen map[digest.ID]bool) {
		for _, id := range ids {
			seen[id] = true
		}
	})
}

// DropSeenSnapshots forgets ids: snapshots whose removal is known to be intended.
func (r *Repo) DropSeenSnapshots(ids []digest.ID) error {
	return r.updateHistory(func(seen map[digest.ID]bool) {
		for _, id := range ids {
			delete(seen, id)
		}
	})
}

// readHistory returns the remembered history, empty if there is none or if it belongs
// to another repository that was once at this location (forget-pin).
func (r *Repo) readHistory() (*history, error) {
	empty := &history{Location: r.store.Location(), ID: r.cfg.ID}
	data, err := os.ReadFile(r.historyPath())
	if errors.Is(err, os.ErrNotExist) {
		data, err = os.ReadFile(r.legacyHistoryPath())
	}
	if errors.Is(err, os.ErrNotExist) {
		return empty, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read snapshot history: %w", err)
	}
	var h history
	if err := json.Unmarshal(data, &h); err != nil {
		return nil, fmt.Errorf("snapshot history %s is damaged (remove it to start anew): %v", r.historyPath(), err)
	}
	if h.ID != r.cfg.ID {
		return empty, nil
	}
	return &h, nil
}

// updateHistory changes the history under an exclusive lock, so that a backup and a
// verify running at once do not lose each other's ids, and replaces the file
// atomically.
func (r *Repo) updateHistory(change func(seen map[digest.ID]bool)) error {
	if r.opts.StateDir == "" {
		return nil
	}
	path := r.historyPath()
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return fmt.Errorf("save snapshot history: %w", err)
	}
	unlock, err := lockHistory(path + ".lock")
	if err != nil {
		return fmt.Errorf("save snapshot history: %w", err)
	}
	defer unlock()
	h, err := r.readHistory()
	if err != nil {
		return err
	}
	seen := make(map[digest.ID]bool, len(h.Seen))
	for _, id := range h.Seen {
		seen[id] = true
	}
	change(seen)
	h.Seen = h.Seen[:0]
	for id := range seen {
		h.Seen = append(h.Seen, id)
	}
	slices.SortFunc(h.Seen, func(a, b digest.ID) int { return bytes.Compare(a[:], b[:]) })
	data, err := json.MarshalIndent(h, "", "  ")
	if err != nil {
		return err
	}
	if err := writeHistory(path, data); err != nil {
		return fmt.Errorf("save snapshot history: %w", err)
	}
	return nil
}

func lockHistory(path string) (unlock func(), err error) {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, err
	}
	for {
		err = syscall.Flock(int(f.Fd()), syscall.LOCK_EX)
		if !errors.Is(err, syscall.EINTR) {
			break
		}
	}
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("lock %s: %w", path, err)
	}
	return func() { f.Close() }, nil // closing releases the lock
}

// writeAtomic replaces path with data: temporary file, fsync, rename.
func writeHistory(path string, data []byte) error {
	tmp := path + ".tmp"
	f, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return err
	}
	_, err = f.Write(data)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, path)
	}
	if err != nil {
		os.Remove(tmp)
	}
	return err
}
