package forget

import (
	"fmt"
	"slices"
	"strings"

	"github.com/cairn-backup/cairn/internal/repo"
)

// GroupBy says which labels split snapshots into groups, as restic's --group-by:
// forget applies its policy to each group on its own, and snapshots --group-by lists
// each under a header.
type GroupBy struct {
	Host, Paths, Tags bool
}

// DefaultGroupBy is forget's default, as restic's: host and paths.
var DefaultGroupBy = GroupBy{Host: true, Paths: true}

// ParseGroupBy reads a comma-separated list of host, paths and tags (restic also
// takes the singulars). An empty string groups nothing: every snapshot in one group.
func ParseGroupBy(s string) (GroupBy, error) {
	var g GroupBy
	for _, f := range strings.Split(s, ",") {
		switch strings.TrimSpace(f) {
		case "":
		case "host", "hosts":
			g.Host = true
		case "path", "paths":
			g.Paths = true
		case "tag", "tags":
			g.Tags = true
		default:
			return GroupBy{}, fmt.Errorf("--group-by: unknown field %q (host, paths, tags)", f)
		}
	}
	return g, nil
}

// String writes g as ParseGroupBy reads it.
func (g GroupBy) String() string {
	var f []string
	if g.Host {
		f = append(f, "host")
	}
	if g.Paths {
		f = append(f, "paths")
	}
	if g.Tags {
		f = append(f, "tags")
	}
	return strings.Join(f, ",")
}

// Key is what the snapshots of one group share; the labels not grouped by are empty.
// Paths and tags are sorted.
type Key struct {
	Host  string   `json:"hostname"`
	Paths []string `json:"paths"`
	Tags  []string `json:"tags"`
}

// KeyOf returns the key of the group s belongs to.
func (g GroupBy) KeyOf(s repo.Snapshot) Key {
	var k Key
	if g.Host {
		k.Host = s.Host
	}
	if g.Paths {
		k.Paths = sortedCopy(s.Paths)
	}
	if g.Tags {
		k.Tags = sortedCopy(s.Tags)
	}
	return k
}

func sortedCopy(s []string) []string {
	c := slices.Clone(s)
	slices.Sort(c)
	if c == nil {
		c = []string{}
	}
	return c
}

// String is the group's header, as restic prints it: "host [h], tags [a, b], paths
// [/x]" with only the labels grouped by; "" for one group of everything.
func (k Key) String() string {
	var parts []string
	if k.Host != "" {
		parts = append(parts, "host ["+k.Host+"]")
	}
	if k.Tags != nil {
		parts = append(parts, "tags ["+strings.Join(k.Tags, ", ")+"]")
	}
	if k.Paths != nil {
		parts = append(parts, "paths ["+strings.Join(k.Paths, ", ")+"]")
	}
	return strings.Join(parts, ", ")
}

// id is a total order of keys: the groups are listed in it.
func (k Key) id() string {
	return k.Host + "\x00" + strings.Join(k.Paths, "\x01") + "\x00" + strings.Join(k.Tags, "\x01")
}

// Grouped is the snapshots of one group, oldest first.
type Grouped struct {
	Key       Key
	Snapshots []repo.Snapshot
}

// Group splits snaps (oldest first) into groups by g, each oldest first, the groups
// ordered by host, then paths, then tags.
func Group(snaps []repo.Snapshot, g GroupBy) []Grouped {
	at := map[string]int{}
	var out []Grouped
	for _, s := range snaps {
		k := g.KeyOf(s)
		i, ok := at[k.id()]
		if !ok {
			i = len(out)
			at[k.id()] = i
			out = append(out, Grouped{Key: k})
		}
		out[i].Snapshots = append(out[i].Snapshots, s)
	}
	slices.SortFunc(out, func(a, b Grouped) int { return strings.Compare(a.Key.id(), b.Key.id()) })
	return out
}
