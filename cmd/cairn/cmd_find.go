package main

import (
	"fmt"
	"time"

	"github.com/cairn-backup/cairn/backup/find"
	"github.com/cairn-backup/cairn/internal/repo"
	"github.com/spf13/cobra"
)

type findFlags struct {
	opts             find.Options
	newest, oldest   string
	minSize, maxSize string
	snapshots        []string
	filter           filterFlags
}

type findJSON struct {
	Snapshot string      `json:"snapshot"`
	Hits     int         `json:"hits"`
	Matches  []entryJSON `json:"matches"`
}

func newFindCmd(g *globals) *cobra.Command {
	var ff findFlags
	cmd := &cobra.Command{
		Use:   "find [flags] PATTERN...",
		Short: "Find files and directories in snapshots",
		Long: `Search the snapshots for entries matching any PATTERN (a shell glob: *, ?, [...]).
A pattern without "/" matches names; one with "/" matches the whole path in the
snapshot. --oldest and --newest bound the modification time, --min-size and
--max-size the size of files. Matches are listed by snapshot, oldest first, with
mode, owner, size and modification time; --json prints one array as restic's find.`,
		Example: `  cairn find '*.conf'
  cairn find -i --newest 2026-01-31 --oldest 2026-01-01 'report*.pdf'
  cairn find --snapshot 4bba301e --min-size 1G '*'
  cairn find '/home/*/.ssh/*'`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts, err := ff.options(args)
			if err != nil {
				return err
			}
			ctx := cmd.Context()
			r, snaps, err := g.openSnapshots(ctx, &ff.filter)
			if err != nil {
				return err
			}
			defer r.Close()
			if snaps, err = ff.pick(snaps); err != nil {
				return err
			}
			return printFind(cmd, g, r, snaps, opts)
		},
	}
	fl := cmd.Flags()
	fl.BoolVarP(&ff.opts.IgnoreCase, "ignore-case", "i", false, "ignore case in patterns")
	fl.StringVarP(&ff.newest, "newest", "N", "", `only entries modified at or before this time ("2006-01-02", "2006-01-02 15:04[:05]")`)
	fl.StringVarP(&ff.oldest, "oldest", "O", "", "only entries modified at or after this time")
	fl.StringVar(&ff.minSize, "min-size", "", "only files of at least this size (500K, 2G)")
	fl.StringVar(&ff.maxSize, "max-size", "", "only files of at most this size")
	fl.StringArrayVarP(&ff.snapshots, "snapshot", "s", nil, `search only this snapshot (id, prefix or "latest"; repeatable)`)
	ff.filter.register(cmd)
	return cmd
}

func (ff *findFlags) options(patterns []string) (find.Options, error) {
	o := ff.opts
	o.Patterns = patterns
	var err error
	if o.Newest, err = parseFindTime(ff.newest, true); err != nil {
		return o, fmt.Errorf("--newest: %w", err)
	}
	if o.Oldest, err = parseFindTime(ff.oldest, false); err != nil {
		return o, fmt.Errorf("--oldest: %w", err)
	}
	for _, s := range []struct {
		flag, v string
		out     *uint64
	}{{"--min-size", ff.minSize, &o.MinSize}, {"--max-size", ff.maxSize, &o.MaxSize}} {
		if s.v != "" {
			n, err := parseSize(s.v)
			if err != nil {
				return o, fmt.Errorf("%s: %w", s.flag, err)
			}
			*s.out = uint64(n)
		}
	}
	return o, nil
}

// parseFindTime reads a local date and time; a date alone as newest bound means the
// end of that day, so that --newest 2026-01-31 includes the 31st.
func parseFindTime(s string, end bool) (time.Time, error) {
	if s == "" {
		return time.Time{}, nil
	}
	for _, layout := range []string{"2006-01-02 15:04:05", "2006-01-02 15:04", "2006-01-02T15:04:05", time.RFC3339} {
		if t, err := time.ParseInLocation(layout, s, time.Local); err == nil {
			return t, nil
		}
	}
	t, err := time.ParseInLocation("2006-01-02", s, time.Local)
	if err != nil {
		return t, fmt.Errorf("%q is not a time like 2006-01-02 or 2006-01-02 15:04:05", s)
	}
	if end {
		t = t.AddDate(0, 0, 1).Add(-time.Nanosecond)
	}
	return t, nil
}

// pick keeps the snapshots --snapshot names (all when none is named).
func (ff *findFlags) pick(snaps []repo.Snapshot) ([]repo.Snapshot, error) {
	if len(ff.snapshots) == 0 {
		return snaps, nil
	}
	var out []repo.Snapshot
	seen := map[string]bool{}
	for _, ref := range ff.snapshots {
		s, err := repo.Find(snaps, ref)
		if err != nil {
			return nil, err
		}
		if !seen[s.ID.String()] {
			seen[s.ID.String()] = true
			out = append(out, s)
		}
	}
	return out, nil
}

func printFind(cmd *cobra.Command, g *globals, r *repo.Repo, snaps []repo.Snapshot, opts find.Options) error {
	w := cmd.OutOrStdout()
	all := []findJSON{}
	err := find.Run(cmd.Context(), r, snaps, opts, func(s repo.Snapshot, ms []find.Match) error {
		if g.json {
			j := findJSON{Snapshot: s.ID.String(), Hits: len(ms)}
			for _, m := range ms {
				e := m.Entry
				j.Matches = append(j.Matches, entryJSON{Path: m.Path, Type: e.Type.String(), Mode: modeString(e), UID: e.UID,
					GID: e.GID, Size: e.Size, MTime: time.Unix(0, e.MTime).UTC(), Target: e.Target})
			}
			all = append(all, j)
			return nil
		}
		fmt.Fprintf(w, "Found matching entries in snapshot %s from %s\n", s.ID.Short(), s.Time.Local().Format("2006-01-02 15:04:05"))
		for _, m := range ms {
			if err := printEntry(w, false, true, m.Path, m.Entry); err != nil {
				return err
			}
		}
		_, err := fmt.Fprintln(w)
		return err
	})
	if err != nil || !g.json {
		return err
	}
	return g.print(cmd, all, nil)
}
