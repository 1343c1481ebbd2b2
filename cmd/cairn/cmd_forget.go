package main

import (
	"fmt"
	"strings"
	"time"

	"github.com/cairn-backup/cairn/backup/forget"
	"github.com/spf13/cobra"
)

// forgetFlags are forget's options as restic names them.
type forgetFlags struct {
	filter     filterFlags
	policy     forget.Policy
	keepTags   []string
	groupBy    string
	dryRun     bool
	allowEmpty bool
	prune      bool
	pruning    pruneFlags
}

func (f *forgetFlags) register(cmd *cobra.Command) {
	fl := cmd.Flags()
	p := &f.policy
	fl.IntVarP(&p.Last, "keep-last", "l", 0, "keep the newest `n` snapshots (-1: all)")
	fl.IntVarP(&p.Hourly, "keep-hourly", "H", 0, "keep the newest snapshot of each of the newest `n` hours with snapshots (-1: of every hour)")
	fl.IntVarP(&p.Daily, "keep-daily", "d", 0, "keep the newest snapshot of each of the newest `n` days with snapshots (-1: of every day)")
	fl.IntVarP(&p.Weekly, "keep-weekly", "w", 0, "keep the newest snapshot of each of the newest `n` ISO weeks with snapshots (-1: of every week)")
	fl.IntVarP(&p.Monthly, "keep-monthly", "m", 0, "keep the newest snapshot of each of the newest `n` months with snapshots (-1: of every month)")
	fl.IntVarP(&p.Yearly, "keep-yearly", "y", 0, "keep the newest snapshot of each of the newest `n` years with snapshots (-1: of every year)")
	fl.Var(&p.Within, "keep-within", "keep every snapshot taken within `duration` (like 1y2m3d4h) of the newest")
	fl.Var(&p.WithinHourly, "keep-within-hourly", "keep the newest snapshot of each hour within `duration` of the newest")
	fl.Var(&p.WithinDaily, "keep-within-daily", "keep the newest snapshot of each day within `duration` of the newest")
	fl.Var(&p.WithinWeekly, "keep-within-weekly", "keep the newest snapshot of each week within `duration` of the newest")
	fl.Var(&p.WithinMonthly, "keep-within-monthly", "keep the newest snapshot of each month within `duration` of the newest")
	fl.Var(&p.WithinYearly, "keep-within-yearly", "keep the newest snapshot of each year within `duration` of the newest")
	fl.StringArrayVar(&f.keepTags, "keep-tag", nil, "keep every snapshot with all of these comma-separated `tags` (repeatable: any of the lists)")
	fl.StringVarP(&f.groupBy, "group-by", "g", "host,paths", "apply the policy to each group of snapshots with the same `host,paths,tags` (any of them, or '' for one group)")
	fl.BoolVarP(&f.dryRun, "dry-run", "n", false, "print what would be removed, and remove nothing")
	fl.BoolVar(&f.allowEmpty, "allow-empty", false, "allow removing every snapshot of a group, or a --keep-tag no snapshot has")
	fl.BoolVar(&f.prune, "prune", false, "then remove the data no snapshot needs any more, as 'cairn prune' does")
	f.pruning.registerShared(cmd)
	f.filter.register(cmd)
}

// options turns the flags into the engine's options.
func (f *forgetFlags) options(ids []string) (forget.Options, error) {
	by, err := forget.ParseGroupBy(f.groupBy)
	if err != nil {
		return forget.Options{}, err
	}
	flt, err := f.filter.filter()
	if err != nil {
		return forget.Options{}, err
	}
	o := forget.Options{Rules: forget.Rules{Policy: f.policy, GroupBy: by, Location: time.Local, Now: time.Now()},
		Filter: flt, IDs: ids, DryRun: f.dryRun, AllowEmpty: f.allowEmpty}
	for _, t := range f.keepTags {
		o.Policy.Tags = append(o.Policy.Tags, strings.Split(t, ","))
	}
	return o, o.Check()
}

func newForgetCmd(g *globals) *cobra.Command {
	var f forgetFlags
	cmd := &cobra.Command{
		Use:   "forget [SNAPSHOT...]",
		Short: "Remove snapshots by a retention policy (--keep-*), or the snapshots named",
		Long: `forget removes snapshot records: those named (ids, unique prefixes or 'latest'),
or, by restic's policies, those of each group (--group-by, default host,paths) that no
--keep-* rule keeps. Hours, days, weeks (ISO), months and years are those of the local
time zone; --keep-within* count back from the newest snapshot of the group, not from
now. The data of removed snapshots stays in the repository until a prune.

It removes nothing if the snapshots cannot all be listed and read, if a snapshot this
client saw before is missing and no forget removed it, if the policy would remove every
snapshot of a group, or if a --keep-tag matches no snapshot (unless --allow-empty).

A nightly retention, as restic users write it:

  cairn forget --keep-daily 7 --keep-weekly 4 --keep-monthly 12 --prune`,
		RunE: func(cmd *cobra.Command, args []string) error {
			opts, err := f.options(args)
			if err != nil {
				return err
			}
			pruneOpts, err := f.pruning.options()
			if err != nil {
				return err
			}
			r, err := g.open(cmd.Context())
			if err != nil {
				return err
			}
			defer r.Close()
			if !g.json && !g.quiet && len(args) == 0 {
				fmt.Fprintf(cmd.OutOrStdout(), "Applying policy: %s\n", opts.Policy)
			}
			res, err := forget.Run(cmd.Context(), r, opts)
			if res != nil {
				if perr := printForget(cmd, g, res, keptSnapshots(r.KeptByLocks())); perr != nil && err == nil {
					err = perr
				}
			}
			if !g.json {
				printKeptByLocks(cmd.OutOrStdout(), r.KeptByLocks())
			}
			if err != nil || !f.prune || f.dryRun {
				return err
			}
			return runPrune(cmd, g, r, pruneOpts)
		},
	}
	f.register(cmd)
	return cmd
}
