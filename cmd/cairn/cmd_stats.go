package main

import (
	"fmt"

	"github.com/spf13/cobra"
)

type statsJSON struct {
	Snapshots   int    `json:"snapshots"`
	Packs       int    `json:"packs"`
	PackBytes   uint64 `json:"pack_bytes"`
	DataBlobs   int    `json:"data_blobs"`
	TreeBlobs   int    `json:"tree_blobs"`
	StoredBytes uint64 `json:"stored_bytes"`
	LatestBytes uint64 `json:"latest_snapshot_bytes"`
}

func newStatsCmd(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:   "stats",
		Short: "Show the size of the repository",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx := cmd.Context()
			r, snaps, err := g.openSnapshots(ctx, nil)
			if err != nil {
				return err
			}
			defer r.Close()
			if err := r.LoadIndex(ctx); err != nil {
				return err
			}
			st := statsJSON{Snapshots: len(snaps)}
			if len(snaps) > 0 {
				st.LatestBytes = snaps[len(snaps)-1].Stats.Bytes
			}
			is, err := r.Stats()
			if err != nil {
				return err
			}
			st.Packs, st.PackBytes = is.Packs, is.PackBytes
			st.DataBlobs, st.TreeBlobs, st.StoredBytes = is.DataBlobs, is.TreeBlobs, is.StoredBytes
			return g.print(cmd, st, func() {
				w := cmd.OutOrStdout()
				fmt.Fprintf(w, "Snapshots:        %d\n", st.Snapshots)
				fmt.Fprintf(w, "Packs:            %d (%s)\n", st.Packs, bytesIEC(st.PackBytes))
				fmt.Fprintf(w, "Blobs:            %d data, %d tree (%s stored)\n", st.DataBlobs, st.TreeBlobs, bytesIEC(st.StoredBytes))
				fmt.Fprintf(w, "Latest snapshot:  %s of files\n", bytesIEC(st.LatestBytes))
			})
		},
	}
}
