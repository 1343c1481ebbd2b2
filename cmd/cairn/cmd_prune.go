package main

import (
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/cairn-backup/cairn/backup/prune"
	"github.com/cairn-backup/cairn/internal/repo"
	"github.com/spf13/cobra"
)

type pruneFlags struct {
	grace      time.Duration
	maxUnused  string
	maxRepack  string
	dryRun     bool
	allowEmpty bool
}

func newPruneCmd(g *globals) *cobra.Command {
	f := &pruneFlags{}
	cmd := &cobra.Command{
		Use:   "prune",
		Short: "Remove the data no snapshot needs any more",
		Long: `prune removes the packs that no snapshot needs, after forget removed snapshots.

It takes no lock: backups on any host may run meanwhile. Packs found unneeded are first
marked; they are deleted at once when no backup is running, otherwise by a prune that
runs after the grace period (--grace, default 24h: longer than your longest backup).
Packs partly unneeded are rewritten when the unused share passes --max-unused.
See docs/prune.md.`,
		Example: `  cairn forget --keep-daily 7 --keep-weekly 4 --keep-monthly 12
  cairn prune
  cairn prune --dry-run`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			opts, err := f.options()
			if err != nil {
				return err
			}
			r, err := g.open(cmd.Context())
			if err != nil {
				return err
			}
			defer r.Close()
			return runPrune(cmd, g, r, opts)
		},
	}
	f.registerShared(cmd)
	fl := cmd.Flags()
	fl.BoolVarP(&f.dryRun, "dry-run", "n", false, "print what would be done and change nothing")
	fl.BoolVar(&f.allowEmpty, "allow-empty", false, "accept a repository without any snapshot (every snapshot forgotten on purpose)")
	return cmd
}

// registerShared adds the flags prune and forget --prune share.
func (f *pruneFlags) registerShared(cmd *cobra.Command) {
	fl := cmd.Flags()
	fl.DurationVar(&f.grace, "grace", prune.DefaultGrace, "delete marked packs only this long after they were marked (longer than your longest backup)")
	fl.StringVar(&f.maxUnused, "max-unused", "5%", "unused space to tolerate: a share like 5%, or 'unlimited'")
	fl.StringVar(&f.maxRepack, "max-repack-size", "", "rewrite at most this much data, e.g. 2G (default: no limit)")
}

func runPrune(cmd *cobra.Command, g *globals, r *repo.Repo, opts prune.Options) error {
	res, err := prune.Run(cmd.Context(), r, opts)
	if err != nil {
		return err
	}
	out := pruneJSONOf(res, opts.DryRun)
	out.KeptByLocks = keptJSONOf(r.KeptByLocks())
	return g.print(cmd, out, func() {
		printPrune(cmd.OutOrStdout(), res, opts.DryRun)
		printKeptByLocks(cmd.OutOrStdout(), r.KeptByLocks())
	})
}

func (f *pruneFlags) options() (prune.Options, error) {
	opts := prune.Options{Grace: f.grace, DryRun: f.dryRun, AllowEmpty: f.allowEmpty}
	if f.grace < prune.MinGrace {
		return opts, fmt.Errorf("--grace %s is shorter than %s", f.grace, prune.MinGrace)
	}
	var err error
	if opts.MaxUnused, err = parseShare(f.maxUnused); err != nil {
		return opts, fmt.Errorf("--max-unused: %w", err)
	}
	if f.maxRepack != "" {
		if opts.MaxRepack, err = parseSize(f.maxRepack); err != nil {
			return opts, fmt.Errorf("--max-repack-size: %w", err)
		}
	}
	return opts, nil
}

// parseShare reads "5%" or "unlimited" as a share of 1.
func parseShare(s string) (float64, error) {
	if s == "unlimited" {
		return 1, nil
	}
	v, err := strconv.ParseFloat(strings.TrimSuffix(s, "%"), 64)
	if err != nil || !strings.HasSuffix(s, "%") || v < 0 || v > 100 {
		return 0, fmt.Errorf("%q is not a share like 5%% or 'unlimited'", s)
	}
	return v / 100, nil
}

// parseSize reads a byte count with an optional K, M, G or T suffix (powers of 1024).
func parseSize(s string) (int64, error) {
	mult := int64(1)
	if n := len(s); n > 0 {
		if i := strings.IndexByte("KMGT", s[n-1]&^0x20); i >= 0 {
			mult, s = int64(1)<<(10*(i+1)), s[:n-1]
		}
	}
	v, err := strconv.ParseInt(s, 10, 64)
	if err != nil || v < 0 || v > (1<<62)/mult {
		return 0, fmt.Errorf("%q is not a size like 500M or 2G", s)
	}
	return v * mult, nil
}

type pruneJSON struct {
	DryRun         bool  `json:"dry_run"`
	Snapshots      int   `json:"snapshots"`
	PacksKept      int64 `json:"packs_kept"`
	PacksRepack    int64 `json:"packs_to_repack"`
	PacksMarked    int64 `json:"packs_marked"`
	PacksDeleted   int   `json:"packs_deleted"`
	PacksWaiting   int64 `json:"packs_waiting"`
	BytesUsed      int64 `json:"bytes_used"`
	BytesUnused    int64 `json:"bytes_unused_after"`
	BytesFreed     int64 `json:"bytes_freed"`
	BytesToFree    int64 `json:"bytes_to_free"`
	DeletedAtOnce  bool  `json:"deleted_at_once"`
	IndexRewritten int   `json:"index_segments_rewritten"`
	TempRemoved    int   `json:"temp_files_removed"`
	TempFreed      int64 `json:"temp_bytes_freed"`
	// KeptByLocks are the objects this run (forget's, with forget --prune) could not
	// delete because an object lock holds them; a later run after Until removes them.
	KeptByLocks []keptJSON `json:"kept_by_locks,omitempty"`
}

type keptJSON struct {
	Type  string    `json:"type"`
	Name  string    `json:"name"`
	Until time.Time `json:"locked_until"`
}

func keptJSONOf(kept []repo.KeptByLock) []keptJSON {
	out := make([]keptJSON, 0, len(kept))
	for _, k := range kept {
		out = append(out, keptJSON{Type: string(k.Type), Name: k.Name, Until: k.Until})
	}
	return out
}

func pruneJSONOf(res *prune.Result, dry bool) pruneJSON {
	st := res.Plan.Stats
	return pruneJSON{
		DryRun: dry, Snapshots: res.Snapshots,
		PacksKept: st.Packs[prune.Keep], PacksRepack: st.Packs[prune.Repack], PacksMarked: st.Packs[prune.MarkIt],
		PacksDeleted: len(res.Deleted), PacksWaiting: st.Packs[prune.Wait],
		BytesUsed: st.UsedBytes, BytesUnused: st.UnusedAfter, BytesFreed: res.Freed,
		BytesToFree:   st.Bytes[prune.Delete] + st.Bytes[prune.MarkIt],
		DeletedAtOnce: res.AtOnce, IndexRewritten: res.Segments,
		TempRemoved: res.TempFiles, TempFreed: res.TempFreed,
	}
}

func printPrune(w io.Writer, res *prune.Result, dry bool) {
	st := res.Plan.Stats
	n := func(c prune.Class) string { return fmt.Sprintf("%d (%s)", st.Packs[c], bytesIEC(uint64(st.Bytes[c]))) }
	fmt.Fprintf(w, "%s, %s of data in use\n", count(res.Snapshots, "snapshot", "snapshots"), bytesIEC(uint64(st.UsedBytes)))
	fmt.Fprintf(w, "packs kept:             %s\n", n(prune.Keep))
	fmt.Fprintf(w, "packs to repack:        %s\n", n(prune.Repack))
	fmt.Fprintf(w, "packs newly unneeded:   %s\n", n(prune.MarkIt))
	fmt.Fprintf(w, "packs due for deletion: %s\n", n(prune.Delete))
	fmt.Fprintf(w, "packs in grace period:  %s\n", n(prune.Wait))
	if st.Packs[prune.Young] > 0 {
		fmt.Fprintf(w, "packs being uploaded:   %s\n", n(prune.Young))
	}
	switch {
	case dry:
		fmt.Fprintln(w, "dry run: nothing was changed")
	case len(res.Deleted) == 0 && res.Marked == 0 && res.Repacked == 0:
		fmt.Fprintln(w, "nothing to delete")
	case res.AtOnce:
		fmt.Fprintf(w, "deleted %s, freed %s (no backup was running: unneeded packs went at once)\n",
			count(len(res.Deleted), "pack", "packs"), bytesIEC(uint64(res.Freed)))
	default:
		fmt.Fprintf(w, "deleted %s, freed %s; %s marked, to be deleted by a prune after the grace period\n",
			count(len(res.Deleted), "pack", "packs"), bytesIEC(uint64(res.Freed)), count(res.Marked, "pack", "packs"))
	}
	if res.TempFiles > 0 {
		fmt.Fprintf(w, "removed %s of interrupted writes (%s)\n", count(res.TempFiles, "temporary file", "temporary files"), bytesIEC(uint64(res.TempFreed)))
	}
}
