package main

import (
	"fmt"
	"io"
	"time"

	"github.com/cairn-backup/cairn/backup/verify"
	"github.com/cairn-backup/cairn/internal/repo"
	"github.com/cairn-backup/cairn/remote"
	"github.com/spf13/cobra"
)

// hiddenAdvice follows every report of hidden objects.
const hiddenAdvice = "cairn never deletes a locked object: someone with the bucket's keys did; their locked versions are intact and were read. " +
	"Replace the keys, then run 'cairn repair markers'"

// warnHidden says, loudly, that objects were read through delete markers.
func warnHidden(w io.Writer, hidden []remote.Hidden) {
	if len(hidden) == 0 {
		return
	}
	fmt.Fprintf(w, "WARNING: %s behind delete markers or forged versions. %s.\n",
		count(len(hidden), "object was", "objects were"), hiddenAdvice)
}

// printHiddenWarning is warnHidden for verify's report.
func printHiddenWarning(w io.Writer, ps []verify.Problem) {
	n := 0
	for _, p := range ps {
		if p.Kind == verify.Hidden {
			n++
		}
	}
	if n > 0 {
		fmt.Fprintf(w, "\nWARNING: %s behind delete markers or forged versions. %s.\n",
			count(n, "object was", "objects were"), hiddenAdvice)
	}
}

type hiddenJSON struct {
	Object  string    `json:"object"`
	Version string    `json:"version"`
	Until   time.Time `json:"locked_until"`
	Markers []string  `json:"delete_markers,omitempty"`
	Forged  []string  `json:"forged_versions,omitempty"`
}

type repairMarkersJSON struct {
	MessageType string       `json:"message_type"` // "summary"
	DryRun      bool         `json:"dry_run,omitempty"`
	Hidden      []hiddenJSON `json:"hidden"`
	Removed     int          `json:"removed"`
}

func newRepairMarkersCmd(g *globals) *cobra.Command {
	var dry bool
	cmd := &cobra.Command{
		Use:   "markers",
		Short: "Remove the delete markers and forged versions that hide locked objects",
		Long: `Find the objects of a bucket with Object Lock whose locked version is hidden behind
delete markers (a DELETE without a version id, which a lock cannot refuse) or behind
other bytes written over it, and delete those markers and versions by their version
ids, so that the locked versions are the current ones again. It needs the bucket's
keys, not the password. A forged version under a lock of its own cannot be deleted
before that lock ends; it is reported, and reads keep seeing through it.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			g.seeThrough = true
			ctx := cmd.Context()
			st, err := g.store(ctx, false)
			if err != nil {
				return err
			}
			defer st.Close()
			hidden, err := repo.FindHidden(ctx, st)
			if err != nil {
				return err
			}
			out := repairMarkersJSON{MessageType: "summary", DryRun: dry, Hidden: []hiddenJSON{}}
			var failed []error
			for _, h := range hidden {
				out.Hidden = append(out.Hidden, hiddenJSON{Object: h.Handle.String(), Version: h.Version,
					Until: h.Until, Markers: h.Markers, Forged: h.Forged})
				if dry {
					continue
				}
				if err := repo.Unhide(ctx, st, h); err != nil {
					failed = append(failed, err)
					continue
				}
				out.Removed++
			}
			if perr := g.print(cmd, out, func() { printRepairMarkers(cmd.OutOrStdout(), &out, failed) }); perr != nil {
				return perr
			}
			if len(failed) > 0 {
				return fmt.Errorf("%d of %d hidden objects are still hidden: %w", len(failed), len(hidden), failed[0])
			}
			return nil
		},
	}
	cmd.Flags().BoolVarP(&dry, "dry-run", "n", false, "show what would be removed, change nothing")
	return cmd
}

func printRepairMarkers(w io.Writer, out *repairMarkersJSON, failed []error) {
	for _, h := range out.Hidden {
		fmt.Fprintf(w, "%s: %d delete markers, %d forged versions over the version locked until %s\n",
			h.Object, len(h.Markers), len(h.Forged), h.Until.Local().Format("2006-01-02 15:04:05"))
	}
	for _, err := range failed {
		fmt.Fprintf(w, "not repaired: %v\n", err)
	}
	switch {
	case len(out.Hidden) == 0:
		fmt.Fprintln(w, "no hidden objects")
	case out.DryRun:
		fmt.Fprintf(w, "would make %s visible again\n", count(len(out.Hidden), "object", "objects"))
	default:
		fmt.Fprintf(w, "made %s visible again\n", count(out.Removed, "object", "objects"))
	}
}

// printLocks sums up verify's lock coverage in one line.
func printLocks(w io.Writer, rep *verify.Report) {
	if len(rep.Locks) == 0 {
		return
	}
	var first verify.LockCover
	short := 0
	for i, c := range rep.Locks {
		if i == 0 || c.Until.Before(first.Until) {
			first = c
		}
		if c.Short > 0 {
			short++
		}
	}
	if short > 0 {
		fmt.Fprintf(w, "\nWARNING: object locks end too early for %s (lock-short above)\n", count(short, "snapshot", "snapshots"))
		return
	}
	fmt.Fprintf(w, "\nobject locks: the earliest ends %s (%s, needed by snapshot %s)\n",
		first.Until.Local().Format("2006-01-02 15:04:05"), first.Object, first.Snapshot.Short())
}
