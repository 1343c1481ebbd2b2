package repo

import (
	"fmt"
	"slices"
	"strings"
	"time"
)

// Filter selects snapshots; empty fields match everything. Tags has restic's
// meaning: a snapshot matches if it holds every tag of at least one of the sets (an
// OR of ANDs), and an empty set matches the snapshots without tags.
type Filter struct {
	Host  string
	Tags  [][]string
	Paths []string // every path must be among the snapshot's paths
}

// Match reports whether s passes the filter.
func (f Filter) Match(s Snapshot) bool {
	if f.Host != "" && s.Host != f.Host {
		return false
	}
	if len(f.Tags) > 0 && !slices.ContainsFunc(f.Tags, func(set []string) bool { return hasTags(s, set) }) {
		return false
	}
	for _, p := range f.Paths {
		if !slices.Contains(s.Paths, p) {
			return false
		}
	}
	return true
}

// hasTags reports whether s holds every tag of set; an empty set asks for no tags.
func hasTags(s Snapshot, set []string) bool {
	if len(set) == 0 {
		return len(s.Tags) == 0
	}
	for _, t := range set {
		if !slices.Contains(s.Tags, t) {
			return false
		}
	}
	return true
}

// Empty reports whether the filter selects every snapshot.
func (f Filter) Empty() bool { return f.Host == "" && len(f.Tags) == 0 && len(f.Paths) == 0 }

// Select returns the snapshots that pass the filter, oldest first.
func (f Filter) Select(snaps []Snapshot) []Snapshot {
	var out []Snapshot
	for _, s := range snaps {
		if f.Match(s) {
			out = append(out, s)
		}
	}
	return out
}

// Find resolves "latest", a full id or a unique id prefix among snaps.
func Find(snaps []Snapshot, ref string) (Snapshot, error) {
	if ref == "latest" {
		if len(snaps) == 0 {
			return Snapshot{}, fmt.Errorf("no snapshot matches")
		}
		return snaps[len(snaps)-1], nil
	}
	var found []Snapshot
	for _, s := range snaps {
		if strings.HasPrefix(s.ID.String(), strings.ToLower(ref)) {
			found = append(found, s)
		}
	}
	switch {
	case ref == "" || len(found) == 0:
		return Snapshot{}, fmt.Errorf("no snapshot %q", ref)
	case len(found) > 1:
		return Snapshot{}, fmt.Errorf("snapshot prefix %q is ambiguous (%d snapshots)", ref, len(found))
	}
	return found[0], nil
}

// At returns the newest snapshot taken at or before t.
func At(snaps []Snapshot, t time.Time) (Snapshot, error) {
	for i := len(snaps) - 1; i >= 0; i-- {
		if !snaps[i].Time.After(t) {
			return snaps[i], nil
		}
	}
	return Snapshot{}, fmt.Errorf("no snapshot at or before %s", t.Format(time.RFC3339))
}
