package repo

import (
	"context"
	"errors"
	"fmt"

	"github.com/cairn-backup/cairn/remote"
)

// errStop ends a listing at its first object.
var errStop = errors.New("stop listing")

// readConfig reads the config object. A location without one holds no repository
// (ErrNoRepository, exit 10) only when it also holds no key file, seen twice: a config
// that is absent beside key files is a repository whose config is lost or was answered
// "not found" by a faulty server, so it is read once more, and if it is still absent
// that is damage (ErrCorrupt), not "no repository". One 404 together with one listing
// cut short must not make "no repository" either, so that is looked at a second time.
func readConfig(ctx context.Context, store remote.Storage) ([]byte, error) {
	data, err := readConfigOnce(ctx, store)
	if !errors.Is(err, remote.ErrNotFound) {
		return data, err
	}
	keys, err := hasKeys(ctx, store)
	if err == nil && !keys {
		if data, err = readConfigOnce(ctx, store); !errors.Is(err, remote.ErrNotFound) {
			return data, err
		}
		keys, err = hasKeys(ctx, store)
	}
	if err != nil {
		return nil, fmt.Errorf("read config: not found; and listing the key files: %w", err)
	}
	if !keys {
		return nil, fmt.Errorf("%w at %s (run 'cairn init' first)", ErrNoRepository, store.Location())
	}
	data, err = readConfigOnce(ctx, store)
	if errors.Is(err, remote.ErrNotFound) {
		return nil, fmt.Errorf("%w: the config of the repository at %s is not found, though its key files are there (read twice): the repository is damaged or the storage is failing",
			ErrCorrupt, store.Location())
	}
	return data, err
}

// readConfigOnce reads the config object: ErrNotFound when there is none, and
// ErrNoRepository when the bucket does not exist.
func readConfigOnce(ctx context.Context, store remote.Storage) ([]byte, error) {
	data, err := remote.ReadAll(ctx, store, remote.Handle{Type: remote.Config}, 0, 0, maxConfigSize)
	switch {
	case errors.Is(err, remote.ErrNoBucket):
		// Not "run init": a mistyped bucket name would get a second repository.
		return nil, fmt.Errorf("%w: %w (check the repository location; 'cairn init' would create the bucket and a new, empty repository in it)",
			ErrNoRepository, err)
	case errors.Is(err, remote.ErrNotFound):
		return nil, err
	case err != nil:
		return nil, fmt.Errorf("read config: %w", err)
	}
	return data, nil
}

// hasKeys reports whether the store holds at least one key file.
func hasKeys(ctx context.Context, store remote.Storage) (bool, error) {
	found := false
	err := store.List(ctx, remote.Key, func(remote.Info) error {
		found = true
		return errStop
	})
	if err != nil && !errors.Is(err, errStop) {
		return false, fmt.Errorf("list keys: %w", err)
	}
	return found, nil
}
