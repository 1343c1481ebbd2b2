package repo

import (
	"context"
	"fmt"

	"github.com/cairn-backup/cairn/remote"
)

// Hidden returns the objects this repository's reads found behind delete markers or
// forged overwrites, whose locked versions they read instead (remote.Hidden). Only a
// store opened to see through them finds any.
func (r *Repo) Hidden() []remote.Hidden {
	if u, ok := r.store.(remote.Unhider); ok {
		return u.Hidden()
	}
	return nil
}

// FindHidden lists every object type a snapshot needs in a store that sees through
// delete markers, and returns the hidden objects it met. It needs no password: the
// holder of the storage's keys can repair what a plain DELETE hid.
func FindHidden(ctx context.Context, store remote.Storage) ([]remote.Hidden, error) {
	u, ok := store.(remote.Unhider)
	if !ok {
		return nil, nil // no versions, no markers
	}
	for _, t := range remote.Types {
		if err := store.List(ctx, t, func(remote.Info) error { return nil }); err != nil {
			return nil, fmt.Errorf("look for hidden objects: %w", err)
		}
	}
	return u.Hidden(), nil
}

// Unhide removes what hides h (see remote.Unhider).
func Unhide(ctx context.Context, store remote.Storage, h remote.Hidden) error {
	u, ok := store.(remote.Unhider)
	if !ok {
		return fmt.Errorf("%s keeps no versions", store.Location())
	}
	return u.Unhide(ctx, h)
}
