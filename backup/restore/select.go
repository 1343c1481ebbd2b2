package restore

import (
	"errors"
	"fmt"
	"path"
	"path/filepath"
	"strings"
	"time"

	"github.com/cairn-backup/cairn/internal/repo"
)

// SplitRef splits the SNAPSHOT[:SUBPATH] argument. Snapshot ids are hex and "latest"
// has no colon, so the first colon separates them; the subpath is made absolute and
// clean ("" when the whole snapshot is meant).
func SplitRef(arg string) (ref, subpath string) {
	ref, sub, found := strings.Cut(arg, ":")
	if !found || sub == "" {
		return ref, ""
	}
	sub = path.Clean("/" + sub)
	if sub == "/" {
		sub = ""
	}
	return ref, sub
}

// timeLayouts are the forms ParseTime accepts besides RFC 3339.
var timeLayouts = []string{"2006-01-02 15:04:05", "2006-01-02 15:04", "2006-01-02T15:04:05", "2006-01-02T15:04", "2006-01-02"}

// ParseTime reads an --at time: RFC 3339 (with its zone), or YYYY-MM-DD[ HH:MM[:SS]]
// in loc. A date alone is the moment that day begins.
func ParseTime(s string, loc *time.Location) (time.Time, error) {
	s = strings.TrimSpace(s)
	if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
		return t, nil
	}
	for _, layout := range timeLayouts {
		if t, err := time.ParseInLocation(layout, s, loc); err == nil {
			return t, nil
		}
	}
	return time.Time{}, fmt.Errorf("time %q: want RFC 3339 or YYYY-MM-DD[ HH:MM[:SS]]", s)
}

// Select picks the snapshot to restore among snaps (oldest first, already filtered):
// with at set, the newest taken at or before it (ref must then be "" or "latest");
// otherwise ref is "latest", a full id or a unique id prefix.
func Select(snaps []repo.Snapshot, ref string, at *time.Time) (repo.Snapshot, error) {
	if at != nil {
		if ref != "" && ref != "latest" {
			return repo.Snapshot{}, errors.New("give either a snapshot id or --at, not both")
		}
		return repo.At(snaps, *at)
	}
	if ref == "" {
		return repo.Snapshot{}, errors.New("no snapshot given (an id, \"latest\" or --at)")
	}
	return repo.Find(snaps, ref)
}

// selector applies --include and --exclude with the semantics of backup's excludes: a
// pattern without a slash matches a name anywhere, one with a slash the whole path as
// backed up (filepath.Match syntax, "*" not crossing "/"); a trailing slash limits a
// pattern to directories. An excluded directory is left out whole; an included one is
// restored whole, and the directories leading to an included entry are restored too.
// --iinclude and --iexclude patterns match ignoring case.
type selector struct {
	include, exclude []pattern
}

type pattern struct {
	glob    string
	path    bool // matches the whole path, not the name
	dirOnly bool
	fold    bool // glob is in lower case and matches the lower-cased path or name
}

// patterns are the include and exclude patterns of a restore, as given.
type patterns struct {
	include, exclude, iinclude, iexclude []string
}

func newSelector(ps patterns) (*selector, error) {
	s := &selector{}
	for _, set := range []struct {
		what  string
		globs []string
		fold  bool
		to    *[]pattern
	}{
		{"include", ps.include, false, &s.include}, {"iinclude", ps.iinclude, true, &s.include},
		{"exclude", ps.exclude, false, &s.exclude}, {"iexclude", ps.iexclude, true, &s.exclude},
	} {
		got, err := parsePatterns(set.what, set.globs, set.fold)
		if err != nil {
			return nil, err
		}
		*set.to = append(*set.to, got...)
	}
	return s, nil
}

func parsePatterns(what string, globs []string, fold bool) ([]pattern, error) {
	var out []pattern
	for _, g := range globs {
		g = strings.TrimSpace(g)
		if g == "" {
			continue
		}
		if fold {
			g = strings.ToLower(g)
		}
		p := pattern{glob: strings.TrimSuffix(g, "/"), dirOnly: strings.HasSuffix(g, "/"), fold: fold}
		p.path = strings.Contains(p.glob, "/")
		if _, err := filepath.Match(p.glob, ""); err != nil {
			return nil, fmt.Errorf("%s pattern %q: %w", what, g, err)
		}
		out = append(out, p)
	}
	return out, nil
}

func matchAny(ps []pattern, path, name string, isDir bool) bool {
	for _, p := range ps {
		s := name
		if p.path {
			s = path
		}
		if p.fold {
			s = strings.ToLower(s)
		}
		if ok, _ := filepath.Match(p.glob, s); ok && (isDir || !p.dirOnly) {
			return true
		}
	}
	return false
}

// excluded reports an entry left out with everything below it.
func (s *selector) excluded(path, name string, isDir bool) bool {
	return matchAny(s.exclude, path, name, isDir)
}

// included reports an entry restored with everything below it; with no include
// patterns, everything is.
func (s *selector) included(path, name string, isDir bool) bool {
	return len(s.include) == 0 || matchAny(s.include, path, name, isDir)
}
