package main

import (
	"fmt"
	"io"
	"strings"
	"text/tabwriter"

	"github.com/cairn-backup/cairn/backup/forget"
	"github.com/cairn-backup/cairn/internal/repo"
	"github.com/spf13/cobra"
)

// forgetGroupJSON is one group of forget --json, in restic's shape.
type forgetGroupJSON struct {
	Host    string           `json:"host"`
	Paths   []string         `json:"paths"`
	Tags    []string         `json:"tags"`
	Keep    []snapshotJSON   `json:"keep"`
	Remove  []snapshotJSON   `json:"remove"`
	Reasons []keepReasonJSON `json:"reasons"`
}

type keepReasonJSON struct {
	Snapshot snapshotJSON    `json:"snapshot"`
	Matches  []string        `json:"matches"`
	Counters forget.Counters `json:"counters"`
}

// forgetJSON is what forget --json prints: one group per policy group, or one
// without labels for the snapshots named.
func forgetJSON(res *forget.Result) []forgetGroupJSON {
	out := []forgetGroupJSON{}
	if res.Decisions == nil {
		g := forgetGroupJSON{Keep: []snapshotJSON{}, Reasons: []keepReasonJSON{}, Remove: toSnapshotsJSON(res.Removed)}
		return append(out, g)
	}
	for _, d := range res.Decisions {
		g := forgetGroupJSON{Host: d.Key.Host, Paths: d.Key.Paths, Tags: d.Key.Tags,
			Keep: []snapshotJSON{}, Reasons: []keepReasonJSON{}, Remove: toSnapshotsJSON(d.Remove)}
		for _, k := range d.Keep {
			s := toSnapshotJSON(k.Snapshot)
			g.Keep = append(g.Keep, s)
			g.Reasons = append(g.Reasons, keepReasonJSON{Snapshot: s, Matches: k.Reasons, Counters: k.Counters})
		}
		out = append(out, g)
	}
	return out
}

func toSnapshotsJSON(snaps []repo.Snapshot) []snapshotJSON {
	out := make([]snapshotJSON, len(snaps))
	for i, s := range snaps {
		out[i] = toSnapshotJSON(s)
	}
	return out
}

// printForget prints what forget decided and did; locked is how many of the snapshots
// it removed object locks kept (printKeptByLocks says until when).
func printForget(cmd *cobra.Command, g *globals, res *forget.Result, locked int) error {
	return g.print(cmd, forgetJSON(res), func() {
		w := cmd.OutOrStdout()
		if !g.quiet {
			for _, d := range res.Decisions {
				printDecision(w, d)
			}
			if res.Decisions == nil && len(res.Removed) > 0 {
				fmt.Fprintf(w, "remove %s:\n", count(len(res.Removed), "snapshot", "snapshots"))
				printForgetTable(w, nil, res.Removed)
			}
		}
		n := count(len(res.Removed), "snapshot", "snapshots")
		switch {
		case len(res.Removed) == 0:
			fmt.Fprintln(w, "no snapshots to remove")
		case res.DryRun:
			fmt.Fprintf(w, "would remove %s (dry run; nothing removed)\n", n)
		case locked > 0:
			fmt.Fprintf(w, "removed %s (their data stays until a prune); %d kept by object locks\n",
				count(len(res.Removed)-locked, "snapshot", "snapshots"), locked)
		default:
			fmt.Fprintf(w, "removed %s (their data stays until a prune)\n", n)
		}
	})
}

// printDecision prints one group as restic does: a header, the snapshots kept with
// their reasons, the snapshots removed.
func printDecision(w io.Writer, d forget.Decision) {
	if k := d.Key.String(); k != "" {
		fmt.Fprintf(w, "snapshots for (%s):\n", k)
	}
	if len(d.Keep) > 0 {
		fmt.Fprintf(w, "keep %s:\n", count(len(d.Keep), "snapshot", "snapshots"))
		printForgetTable(w, d.Keep, nil)
		if len(d.Remove) > 0 {
			fmt.Fprintln(w)
		}
	}
	if len(d.Remove) > 0 {
		fmt.Fprintf(w, "remove %s:\n", count(len(d.Remove), "snapshot", "snapshots"))
		printForgetTable(w, nil, d.Remove)
	}
	fmt.Fprintln(w)
}

// printForgetTable prints kept snapshots with a Reasons column (one reason a line),
// or removed ones without.
func printForgetTable(w io.Writer, keep []forget.Kept, remove []repo.Snapshot) {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	row := func(s repo.Snapshot, reason string) {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t", s.ID.Short(), s.Time.Local().Format("2006-01-02 15:04:05"), s.Host, strings.Join(s.Tags, ","))
		if keep != nil {
			fmt.Fprintf(tw, "%s\t", reason)
		}
		fmt.Fprintf(tw, "%s\n", strings.Join(s.Paths, " "))
	}
	if keep != nil {
		fmt.Fprintln(tw, "ID\tTime\tHost\tTags\tReasons\tPaths")
		for _, k := range keep {
			row(k.Snapshot, k.Reasons[0])
			for _, r := range k.Reasons[1:] {
				fmt.Fprintf(tw, "\t\t\t\t%s\t\n", r)
			}
		}
	} else {
		fmt.Fprintln(tw, "ID\tTime\tHost\tTags\tPaths")
		for _, s := range remove {
			row(s, "")
		}
	}
	tw.Flush()
}
