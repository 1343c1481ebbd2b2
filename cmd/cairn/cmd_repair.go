package main

import (
	"fmt"
	"io"

	"github.com/cairn-backup/cairn/backup/repair"
	"github.com/spf13/cobra"
)

func newRepairCmd(g *globals) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "repair",
		Short: "Mend a repository that lost or damaged objects",
		Long: `Mend a repository after verify reported damage. Run 'repair index' first, then
'repair snapshots'; both accept --dry-run, and both can be killed and run again.
Do not run them while a prune runs. 'repair markers' removes the delete markers that
hide locked objects (a bucket with Object Lock).`,
	}
	cmd.AddCommand(newRepairIndexCmd(g), newRepairSnapshotsCmd(g), newRepairMarkersCmd(g))
	return cmd
}

type repairIndexJSON struct {
	MessageType     string   `json:"message_type"` // "summary"
	DryRun          bool     `json:"dry_run,omitempty"`
	Packs           int      `json:"packs"`
	Indexed         int      `json:"packs_indexed"`
	Blobs           int      `json:"blobs"`
	Added           []string `json:"packs_added,omitempty"`
	Dropped         []string `json:"packs_dropped,omitempty"`
	DamagedPacks    []string `json:"damaged_packs,omitempty"`
	DamagedSegments []string `json:"damaged_segments,omitempty"`
	OldSegments     int      `json:"segments_replaced"`
	NewSegments     int      `json:"segments_written"`
}

func newRepairIndexCmd(g *globals) *cobra.Command {
	var dry bool
	cmd := &cobra.Command{
		Use:   "index",
		Short: "Rebuild the index from the packs' own headers",
		Long: `Rebuild the index from the headers of the packs the repository holds, and replace
every index segment by the rebuilt one: entries of packs that are gone are dropped,
packs no segment named are indexed, damaged segments are replaced. A pack whose
header does not open is reported and left alone (neither indexed nor deleted).

The new segments are written before the old ones are deleted, so a run killed at any
moment leaves duplicate entries, never missing ones; run it again to finish.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			g.seeThrough = true
			r, err := g.open(cmd.Context())
			if err != nil {
				return err
			}
			defer r.Close()
			res, err := repair.Index(cmd.Context(), r, repair.IndexOptions{DryRun: dry})
			if res == nil {
				return err
			}
			out := repairIndexJSON{MessageType: "summary", DryRun: res.DryRun, Packs: res.Packs, Indexed: res.Indexed,
				Blobs: res.Blobs, OldSegments: res.OldSegments, NewSegments: res.NewSegments,
				Added: idStrings(res.Added), Dropped: idStrings(res.Dropped),
				DamagedPacks: errStrings(res.DamagedPacks), DamagedSegments: errStrings(res.DamagedSegments)}
			if perr := g.print(cmd, out, func() { printRepairIndex(cmd.OutOrStdout(), res) }); perr != nil {
				return perr
			}
			return err
		},
	}
	cmd.Flags().BoolVarP(&dry, "dry-run", "n", false, "show what would be done, change nothing")
	return cmd
}

func printRepairIndex(w io.Writer, res *repair.IndexResult) {
	for _, e := range res.DamagedSegments {
		fmt.Fprintf(w, "damaged %v\n", e)
	}
	for _, e := range res.DamagedPacks {
		fmt.Fprintf(w, "damaged %v (left out of the index, not deleted)\n", e)
	}
	for _, id := range res.Dropped {
		fmt.Fprintf(w, "pack %s is gone: its entries are dropped\n", id.Short())
	}
	for _, id := range res.Added {
		fmt.Fprintf(w, "pack %s was not indexed: it is now\n", id.Short())
	}
	verb := "indexed"
	if res.DryRun {
		verb = "would be indexed (dry run)"
	}
	fmt.Fprintf(w, "%s of %d %s (%s) in place of %s\n", count(res.Indexed, "pack", "packs"), res.Packs, verb,
		count(res.Blobs, "blob", "blobs"), count(res.OldSegments, "index segment", "index segments"))
}

type repairSnapshotsJSON struct {
	MessageType string           `json:"message_type"` // "summary"
	DryRun      bool             `json:"dry_run,omitempty"`
	Checked     int              `json:"snapshots_checked"`
	Repaired    []replacedJSON   `json:"repaired,omitempty"`
	Lost        []repairLostJSON `json:"lost,omitempty"`
}

type repairLostJSON struct {
	Snapshot string `json:"snapshot"`
	Path     string `json:"path"`
	Dir      bool   `json:"dir,omitempty"`
	Error    string `json:"error"`
}

func newRepairSnapshotsCmd(g *globals) *cobra.Command {
	var (
		dry    bool
		tag    string
		filter filterFlags
	)
	cmd := &cobra.Command{
		Use:   "snapshots",
		Short: "Replace snapshots that need lost data by snapshots without the lost files",
		Long: `Check every snapshot (or those --host, --tag and --path select) for data the
repository lost, and replace each one that needs some by a snapshot without the lost
files: a file with a lost chunk is left out, a directory whose node does not read is
kept empty. The new snapshot has the same time, host and paths, the tag "repaired",
and takes the old one's place in the snapshot chain (recorded as a replacement, as
'tag' does). Run 'repair index' first. Killed, it can be run again.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			g.seeThrough = true
			r, snaps, err := g.openSnapshots(cmd.Context(), &filter)
			if err != nil {
				return err
			}
			defer r.Close()
			res, err := repair.Snapshots(cmd.Context(), r, snaps, repair.SnapshotsOptions{DryRun: dry, Tag: tag})
			if res == nil {
				return err
			}
			out := repairSnapshotsJSON{MessageType: "summary", DryRun: res.DryRun, Checked: res.Checked}
			for _, p := range res.Repaired {
				out.Repaired = append(out.Repaired, replacedJSON{Old: p.Old.String(), New: p.New.String()})
			}
			for _, l := range res.Lost {
				out.Lost = append(out.Lost, repairLostJSON{Snapshot: l.Snapshot.String(), Path: l.Path, Dir: l.Dir, Error: l.Err.Error()})
			}
			if perr := g.print(cmd, out, func() { printRepairSnapshots(cmd.OutOrStdout(), res) }); perr != nil {
				return perr
			}
			return err
		},
	}
	filter.register(cmd)
	cmd.Flags().BoolVarP(&dry, "dry-run", "n", false, "show what would be done, change nothing")
	cmd.Flags().StringVar(&tag, "add-tag", repair.DefaultTag, "tag added to each repaired snapshot")
	return cmd
}

func printRepairSnapshots(w io.Writer, res *repair.SnapshotsResult) {
	for _, l := range res.Lost {
		what := "file"
		if l.Dir {
			what = "directory (kept empty)"
		}
		fmt.Fprintf(w, "snapshot %s: lost %s %s: %v\n", l.Snapshot.Short(), what, showName(l.Path), l.Err)
	}
	verb, would := "is now", ""
	if res.DryRun {
		verb, would = "would be", " (dry run)"
	}
	for _, p := range res.Repaired {
		fmt.Fprintf(w, "snapshot %s %s %s%s\n", p.Old.Short(), verb, p.New.Short(), would)
	}
	fmt.Fprintf(w, "%s repaired of %d checked%s\n", count(len(res.Repaired), "snapshot", "snapshots"), res.Checked, would)
}

func idStrings[T fmt.Stringer](ids []T) []string {
	out := make([]string, len(ids))
	for i, id := range ids {
		out[i] = id.String()
	}
	return out
}

func errStrings(errs []error) []string {
	out := make([]string, len(errs))
	for i, e := range errs {
		out[i] = e.Error()
	}
	return out
}
