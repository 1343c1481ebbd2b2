package main

import (
	"path/filepath"
	"strings"

	"github.com/cairn-backup/cairn/internal/repo"
	"github.com/spf13/cobra"
)

// filterFlags are the snapshot filters every command that selects snapshots takes
// (--host, --tag, --path), registered by one function so they mean the same
// everywhere: they choose among which snapshots "latest", --at and id prefixes
// resolve, as restic's.
type filterFlags struct {
	host        string
	tags, paths []string
}

func (f *filterFlags) register(cmd *cobra.Command) {
	fl := cmd.Flags()
	fl.StringVar(&f.host, "host", "", "only snapshots of this host")
	fl.StringArrayVar(&f.tags, "tag", nil, `only snapshots with these tags: "a,b" means both, --tag a --tag b either (repeatable)`)
	fl.StringArrayVar(&f.paths, "path", nil, "only snapshots holding this path (repeatable: all of them)")
}

// given reports whether any filter was set.
func (f *filterFlags) given() bool {
	return f.host != "" || len(f.tags) > 0 || len(f.paths) > 0
}

func (f *filterFlags) filter() (repo.Filter, error) {
	out := repo.Filter{Host: f.host}
	for _, t := range f.tags {
		out.Tags = append(out.Tags, splitTags(t))
	}
	for _, p := range f.paths {
		abs, err := filepath.Abs(p)
		if err != nil {
			return out, err
		}
		out.Paths = append(out.Paths, abs)
	}
	return out, nil
}

// splitTags reads one --tag value: tags separated by commas, blanks around them and
// empty ones dropped, so that --tag "" is the empty set (snapshots without tags).
func splitTags(s string) []string {
	out := []string{}
	for _, t := range strings.Split(s, ",") {
		if t = strings.TrimSpace(t); t != "" {
			out = append(out, t)
		}
	}
	return out
}
