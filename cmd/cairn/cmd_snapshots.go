package main

import (
	"context"
	"fmt"
	"os"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/cairn-backup/cairn/internal/repo"
	"github.com/spf13/cobra"
)

// loadSnapshots loads and filters the snapshots, warning about damaged records.
func (g *globals) loadSnapshots(ctx context.Context, r *repo.Repo, f *filterFlags) ([]repo.Snapshot, error) {
	snaps, bad, err := r.LoadSnapshots(ctx)
	if err != nil {
		return nil, err
	}
	for _, e := range bad {
		fmt.Fprintf(os.Stderr, "cairn: damaged snapshot: %v\n", e)
	}
	if f == nil {
		return snaps, nil
	}
	flt, err := f.filter()
	if err != nil {
		return nil, err
	}
	return flt.Select(snaps), nil
}

// openSnapshots opens the repository and loads the snapshots f selects (nil: all),
// oldest first; the caller closes the repository.
func (g *globals) openSnapshots(ctx context.Context, f *filterFlags) (*repo.Repo, []repo.Snapshot, error) {
	r, err := g.open(ctx)
	if err != nil {
		return nil, nil, err
	}
	snaps, err := g.loadSnapshots(ctx, r, f)
	if err != nil {
		r.Close()
		return nil, nil, err
	}
	return r, snaps, nil
}

// pickFunc chooses the snapshot a command works on among those loaded.
type pickFunc func(snaps []repo.Snapshot) (repo.Snapshot, error)

// byID picks "latest", a full snapshot id or a unique prefix of one.
func byID(ref string) pickFunc {
	return func(snaps []repo.Snapshot) (repo.Snapshot, error) { return repo.Find(snaps, ref) }
}

// openSnapshot opens the repository and picks, among the snapshots f selects (nil:
// all), the one a command works on; the caller closes the repository.
func (g *globals) openSnapshot(ctx context.Context, f *filterFlags, pick pickFunc) (*repo.Repo, repo.Snapshot, error) {
	r, snaps, err := g.openSnapshots(ctx, f)
	if err != nil {
		return nil, repo.Snapshot{}, err
	}
	s, err := pick(snaps)
	if err != nil {
		r.Close()
		return nil, repo.Snapshot{}, err
	}
	return r, s, nil
}

type snapshotJSON struct {
	ID       string    `json:"id"`
	Short    string    `json:"short_id"`
	Time     time.Time `json:"time"`
	Host     string    `json:"hostname"`
	User     string    `json:"username,omitempty"`
	Paths    []string  `json:"paths"`
	Tags     []string  `json:"tags,omitempty"`
	Root     string    `json:"root"`
	Previous string    `json:"previous,omitempty"`
	Bytes    uint64    `json:"total_bytes"`
	Files    uint64    `json:"files"`
}

func newSnapshotsCmd(g *globals) *cobra.Command {
	var f filterFlags
	var latest int
	var groupBy string
	var compact bool
	cmd := &cobra.Command{
		Use:   "snapshots",
		Short: "List snapshots",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			r, snaps, err := g.openSnapshots(cmd.Context(), &f)
			if err != nil {
				return err
			}
			defer r.Close()
			if latest > 0 {
				snaps = latestPerGroup(snaps, latest)
			}
			if groupBy != "" {
				return printSnapshotGroups(cmd, g, snaps, groupBy, compact)
			}
			out := make([]snapshotJSON, len(snaps))
			for i, s := range snaps {
				out[i] = toSnapshotJSON(s)
			}
			return g.print(cmd, out, func() { printSnapshots(cmd, out, compact) })
		},
	}
	f.register(cmd)
	cmd.Flags().IntVar(&latest, "latest", 0, "only the newest N snapshots of each host and set of paths")
	cmd.Flags().BoolVarP(&compact, "compact", "c", false, "one short line per snapshot: id, time, host, tags and size, without paths")
	cmd.Flags().StringVarP(&groupBy, "group-by", "g", "", "list the snapshots in groups of the same `host,paths,tags` (any of them)")
	return cmd
}

// latestPerGroup keeps the newest n snapshots of each host and set of paths, in the
// order given (oldest first).
func latestPerGroup(snaps []repo.Snapshot, n int) []repo.Snapshot {
	seen := map[string]int{}
	keep := make([]bool, len(snaps))
	for i := len(snaps) - 1; i >= 0; i-- {
		k := snaps[i].Host + "\x00" + strings.Join(snaps[i].Paths, "\x00")
		if seen[k] < n {
			seen[k]++
			keep[i] = true
		}
	}
	var out []repo.Snapshot
	for i, s := range snaps {
		if keep[i] {
			out = append(out, s)
		}
	}
	return out
}

func toSnapshotJSON(s repo.Snapshot) snapshotJSON {
	j := snapshotJSON{ID: s.ID.String(), Short: s.ID.Short(), Time: s.Time, Host: s.Host, User: s.User,
		Paths: s.Paths, Tags: s.Tags, Root: s.Root.String(), Bytes: s.Stats.Bytes, Files: s.Stats.Files}
	if s.Previous != nil {
		j.Previous = s.Previous.String()
	}
	return j
}

// printSnapshots prints the table; compact leaves the paths out, as restic's --compact.
func printSnapshots(cmd *cobra.Command, snaps []snapshotJSON, compact bool) {
	tw := tabwriter.NewWriter(cmd.OutOrStdout(), 0, 4, 2, ' ', 0)
	head := "ID\tTime\tHost\tTags\tSize\tPaths"
	if compact {
		head = "ID\tTime\tHost\tTags\tSize"
	}
	fmt.Fprintln(tw, head)
	for _, s := range snaps {
		cols := []string{s.Short, s.Time.Local().Format("2006-01-02 15:04:05"), s.Host, strings.Join(s.Tags, ","), bytesIEC(s.Bytes)}
		if !compact {
			cols = append(cols, strings.Join(s.Paths, " "))
		}
		fmt.Fprintln(tw, strings.Join(cols, "\t"))
	}
	tw.Flush()
	fmt.Fprintln(cmd.OutOrStdout(), count(len(snaps), "snapshot", "snapshots"))
}
