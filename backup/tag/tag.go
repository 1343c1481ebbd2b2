// Package tag is the engine of `cairn tag`: it changes the labels of snapshots.
//
// A snapshot record is named by its hash, so a record with other tags is a new
// record with a new id; everything else (time, host, paths, root, Parent, Previous,
// stats) is copied, so the snapshot after it still names the old id as Previous.
// repo.ReplaceSnapshots saves the new record, records old → new in a sealed state
// object, and only then deletes the old record; verify follows the replacement, so
// the hash chain stays whole (docs/format.md).
package tag

import (
	"context"
	"errors"
	"fmt"
	"slices"

	"github.com/cairn-backup/cairn/internal/repo"
)

// Change says how to change the tags: Set replaces them all (when SetGiven, even by
// none); otherwise Remove takes tags away and Add appends those not present.
type Change struct {
	Add, Remove, Set []string
	SetGiven         bool
}

// Validate refuses a change that changes nothing, or mixes Set with Add or Remove.
func (c Change) Validate() error {
	switch {
	case c.SetGiven && (len(c.Add) > 0 || len(c.Remove) > 0):
		return errors.New("--set replaces every tag: give it alone, without --add or --remove")
	case !c.SetGiven && len(c.Add) == 0 && len(c.Remove) == 0:
		return errors.New("nothing to change: give --add, --remove or --set")
	}
	return nil
}

// Apply returns tags changed by c, in order, without duplicates; nil for no tags.
func (c Change) Apply(tags []string) []string {
	var out []string
	add := func(t string) {
		if t != "" && !slices.Contains(out, t) {
			out = append(out, t)
		}
	}
	if c.SetGiven {
		for _, t := range c.Set {
			add(t)
		}
		return out
	}
	for _, t := range tags {
		if !slices.Contains(c.Remove, t) {
			add(t)
		}
	}
	for _, t := range c.Add {
		add(t)
	}
	return out
}

// Run applies c to the snapshots snaps and returns the replacements made, in the
// order of snaps. A snapshot whose tags do not change is left alone: if none
// changes, nothing is written.
func Run(ctx context.Context, r *repo.Repo, snaps []repo.Snapshot, c Change) ([]repo.Replacement, error) {
	if err := c.Validate(); err != nil {
		return nil, err
	}
	var rewrites []repo.Rewrite
	done := map[string]bool{}
	for _, s := range snaps {
		if done[s.ID.String()] {
			continue // named twice
		}
		done[s.ID.String()] = true
		tags := c.Apply(s.Tags)
		if slices.Equal(tags, s.Tags) {
			continue
		}
		ns := *s.Snapshot
		ns.Tags = tags
		record, err := ns.Encode()
		if err != nil {
			return nil, fmt.Errorf("tag snapshot %s: %w", s.ID.Short(), err)
		}
		rewrites = append(rewrites, repo.Rewrite{Old: s.ID, Record: record})
	}
	if len(rewrites) == 0 {
		return nil, nil
	}
	return r.ReplaceSnapshots(ctx, rewrites)
}
