package repo

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/cairn-backup/cairn/internal/digest"
)

// pin is what a client remembers of a repository so that a swapped repository (another
// id, another master key, another format) is refused rather than silently used.
type pin struct {
	Location    string    `json:"location"`
	ID          digest.ID `json:"id"`
	Fingerprint digest.ID `json:"key_fingerprint"`
	Version     int       `json:"format_version"`
	KeyName     string    `json:"key_name,omitempty"` // tried first: saves a KDF run per other key
}

type pinStore struct{ dir string }

func (p pinStore) path(location string) string {
	sum := sha256.Sum256([]byte(location))
	return filepath.Join(p.dir, "pins", hex.EncodeToString(sum[:16])+".json")
}

// load returns the pin for location, or nil when there is none (or pinning is off).
func (p pinStore) load(location string) (*pin, error) {
	if p.dir == "" {
		return nil, nil
	}
	data, err := os.ReadFile(p.path(location))
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read pin: %w", err)
	}
	var pn pin
	if err := json.Unmarshal(data, &pn); err != nil {
		return nil, fmt.Errorf("pin file %s is damaged (remove it to trust the repository anew): %v", p.path(location), err)
	}
	return &pn, nil
}

func (p pinStore) save(pn *pin) error {
	if p.dir == "" {
		return nil
	}
	data, err := json.MarshalIndent(pn, "", "  ")
	if err != nil {
		return err
	}
	path := p.path(pn.Location)
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return fmt.Errorf("save pin: %w", err)
	}
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, data, 0o600); err != nil {
		return fmt.Errorf("save pin: %w", err)
	}
	return os.Rename(tmp, path)
}

// check compares what was opened with what was pinned.
func (pn *pin) check(id, fingerprint digest.ID, version int) error {
	switch {
	case pn == nil:
		return nil
	case pn.ID != id:
		return fmt.Errorf("%w: %s was repository %s and is now %s; if you replaced it on purpose, run 'cairn forget-pin'",
			ErrIdentity, pn.Location, pn.ID.Short(), id.Short())
	case !pn.Fingerprint.IsZero() && pn.Fingerprint != fingerprint:
		return fmt.Errorf("%w: %s opened with a different master key than before", ErrIdentity, pn.Location)
	case pn.Version != version:
		return fmt.Errorf("%w: %s changed format version %d → %d", ErrIdentity, pn.Location, pn.Version, version)
	}
	return nil
}

// ForgetPin removes the pin of location, so the next open trusts what it finds.
func ForgetPin(stateDir, location string) error {
	err := os.Remove(pinStore{stateDir}.path(location))
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	return err
}
