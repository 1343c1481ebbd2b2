// Package find searches snapshots for entries by name or path pattern, modification
// time and size, as restic's find: which snapshots hold a file, and how it looked in
// each.
package find

import (
	"context"
	"fmt"
	"path"
	"strings"
	"time"

	"github.com/cairn-backup/cairn/internal/repo"
	"github.com/cairn-backup/cairn/manifest"
)

// Options say what matches. An entry matches when any pattern does and every bound
// given holds.
type Options struct {
	// Patterns are shell globs (path.Match). One without "/" matches an entry's name;
	// one with "/" matches its absolute path in the snapshot ("/home/*/.bashrc").
	Patterns   []string
	IgnoreCase bool
	Oldest     time.Time // entries modified at or after it; zero: no bound
	Newest     time.Time // entries modified at or before it; zero: no bound
	MinSize    uint64    // files of at least this size (only files match a size bound)
	MaxSize    uint64    // files of at most this size; 0: no bound
}

// Match is one matching entry of a snapshot.
type Match struct {
	Path  string // absolute path in the snapshot
	Entry *manifest.Entry
}

// Run walks every snapshot of snaps, in order, and calls fn with each snapshot that
// holds matches and its matches in path order. An error of fn stops the search.
func Run(ctx context.Context, r *repo.Repo, snaps []repo.Snapshot, opts Options, fn func(repo.Snapshot, []Match) error) error {
	pats, err := compile(opts)
	if err != nil {
		return err
	}
	for _, s := range snaps {
		var ms []Match
		err := manifest.Walk(ctx, r, s.Tree, s.Root, func(p string, e *manifest.Entry) error {
			if opts.matches("/"+p, e, pats) {
				ms = append(ms, Match{Path: "/" + p, Entry: e})
			}
			return nil
		})
		if err != nil {
			return fmt.Errorf("snapshot %s: %w", s.ID.Short(), err)
		}
		if len(ms) > 0 {
			if err := fn(s, ms); err != nil {
				return err
			}
		}
	}
	return nil
}

// compile checks the patterns (lower-cased with IgnoreCase).
func compile(opts Options) ([]string, error) {
	if len(opts.Patterns) == 0 {
		return nil, fmt.Errorf("find: no pattern")
	}
	out := make([]string, len(opts.Patterns))
	for i, p := range opts.Patterns {
		if opts.IgnoreCase {
			p = strings.ToLower(p)
		}
		if _, err := path.Match(p, ""); err != nil {
			return nil, fmt.Errorf("find: pattern %q: %w", opts.Patterns[i], err)
		}
		out[i] = p
	}
	return out, nil
}

func (o Options) matches(p string, e *manifest.Entry, pats []string) bool {
	mtime := time.Unix(0, e.MTime)
	if (!o.Oldest.IsZero() && mtime.Before(o.Oldest)) || (!o.Newest.IsZero() && mtime.After(o.Newest)) {
		return false
	}
	if o.MinSize > 0 || o.MaxSize > 0 {
		if e.Type != manifest.File || e.Size < o.MinSize || (o.MaxSize > 0 && e.Size > o.MaxSize) {
			return false
		}
	}
	name := e.Name
	if o.IgnoreCase {
		name, p = strings.ToLower(name), strings.ToLower(p)
	}
	for _, pat := range pats {
		subject := name
		if strings.Contains(pat, "/") {
			subject = p
		}
		if ok, _ := path.Match(pat, subject); ok {
			return true
		}
	}
	return false
}
