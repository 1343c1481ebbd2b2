package main

import (
	"fmt"

	"github.com/cairn-backup/cairn/backup/forget"
	"github.com/cairn-backup/cairn/internal/repo"
	"github.com/spf13/cobra"
)

// snapshotGroupJSON is one group of snapshots --group-by --json, in restic's shape.
type snapshotGroupJSON struct {
	Key       forget.Key     `json:"group_key"`
	Snapshots []snapshotJSON `json:"snapshots"`
}

// printSnapshotGroups lists snaps in the groups forget would apply a policy to, each
// under a header as restic prints it.
func printSnapshotGroups(cmd *cobra.Command, g *globals, snaps []repo.Snapshot, groupBy string, compact bool) error {
	by, err := forget.ParseGroupBy(groupBy)
	if err != nil {
		return err
	}
	out := []snapshotGroupJSON{}
	for _, gr := range forget.Group(snaps, by) {
		out = append(out, snapshotGroupJSON{Key: gr.Key, Snapshots: toSnapshotsJSON(gr.Snapshots)})
	}
	return g.print(cmd, out, func() {
		for i, gr := range out {
			if i > 0 {
				fmt.Fprintln(cmd.OutOrStdout())
			}
			if k := gr.Key.String(); k != "" {
				fmt.Fprintf(cmd.OutOrStdout(), "snapshots for (%s):\n", k)
			}
			printSnapshots(cmd, gr.Snapshots, compact)
		}
	})
}
