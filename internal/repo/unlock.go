package repo

import (
	"context"
	"errors"
	"fmt"
	"sort"

	"github.com/cairn-backup/cairn/internal/crypto"
	"golang.org/x/sync/errgroup"
)

// readConfig reads the config and, at the same time, the key file named hint (the one
// this client opened the repository with last time, from its pin): on a distant
// bucket a repository then opens in one round trip, not three (config, key listing,
// key file). A key file that does not load comes back nil; unlock then lists the keys.
func (r *Repo) readConfig(ctx context.Context, hint string) ([]byte, *crypto.KeyFile, error) {
	var (
		data   []byte
		pinned *crypto.KeyFile
	)
	g, gctx := errgroup.WithContext(ctx)
	if hint != "" {
		g.Go(func() error {
			pinned, _ = r.loadKeyFile(gctx, hint) // any failure: the listing finds the keys
			return nil
		})
	}
	g.Go(func() (err error) {
		data, err = readConfig(gctx, r.store) // "no repository" only where no key file is
		return err
	})
	if err := g.Wait(); err != nil {
		return nil, nil, err
	}
	return data, pinned, nil
}

// keyTally counts the key files that did not open the repository and why.
type keyTally struct {
	foreign int     // key files of another repository
	damaged []error // key files that did not load, or open but do not open the config
}

// unlock opens the repository with the password: with pinned, the key file named hint
// read beside the config, when it opens it; else with each key file listed (hint
// first) until one opens whose master key also opens the config.
func (r *Repo) unlock(ctx context.Context, config []byte, h configHeader, hint string, pinned *crypto.KeyFile) error {
	var t keyTally
	if pinned != nil {
		if ok, err := r.tryKey(hint, pinned, config, h, &t); ok || err != nil {
			return err
		}
	}
	names, err := r.keyNames(ctx)
	if err != nil {
		return err
	}
	sort.SliceStable(names, func(i, j int) bool { return names[i] == hint && names[j] != hint })
	for _, name := range names {
		if pinned != nil && name == hint {
			continue // tried above
		}
		kf, err := r.loadKeyFile(ctx, name)
		if err != nil {
			t.damaged = append(t.damaged, err)
			continue
		}
		if ok, err := r.tryKey(name, kf, config, h, &t); ok || err != nil {
			return err
		}
	}
	return t.failure(names, h)
}

// tryKey opens the repository with key file kf, named name, if the password unwraps it
// and its master key opens the config; it tallies the key files that do not.
func (r *Repo) tryKey(name string, kf *crypto.KeyFile, config []byte, h configHeader, t *keyTally) (bool, error) {
	if kf.Repo != h.ID {
		t.foreign++
		return false, nil
	}
	key, err := kf.Unwrap(r.opts.Password, h.Cipher)
	if err != nil {
		return false, nil
	}
	cfg, err := decodeConfig(config, key)
	if errors.Is(err, crypto.ErrAuth) {
		t.damaged = append(t.damaged, fmt.Errorf("key %s opens but does not open the config: %w", shortName(name), err))
		return false, nil
	}
	if err != nil {
		return false, err
	}
	r.key, r.cfg, r.keyName = key, cfg, name
	return true, nil
}

// failure is why no key file of names opened the repository.
func (t *keyTally) failure(names []string, h configHeader) error {
	if len(names) > 0 && t.foreign+len(t.damaged) == len(names) {
		err := fmt.Errorf("%w: none of the %d key files belongs to repository %s (%d of another repository, %d damaged)",
			ErrCorrupt, len(names), h.ID.Short(), t.foreign, len(t.damaged))
		return errors.Join(append([]error{err}, t.damaged...)...)
	}
	if len(t.damaged) > 0 {
		return fmt.Errorf("%w (and: %w)", crypto.ErrWrongPassword, errors.Join(t.damaged...))
	}
	if len(names) == 0 {
		return fmt.Errorf("%w: the repository has no key files", ErrCorrupt)
	}
	return crypto.ErrWrongPassword
}
