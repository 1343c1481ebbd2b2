package main

import (
	"crypto/rand"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/cairn-backup/cairn/backup/verify"
	"github.com/cairn-backup/cairn/internal/progress"
	"github.com/cairn-backup/cairn/internal/repo"
	"github.com/cairn-backup/cairn/manifest"
	"github.com/spf13/cobra"
)

type verifyFlags struct {
	filter                             filterFlags
	readData, sinceLast, acceptHistory bool
	subset, against                    string
	seed                               uint64
}

func newVerifyCmd(g *globals) *cobra.Command {
	var f verifyFlags
	cmd := &cobra.Command{
		Use:   "verify [--against PATH [SNAPSHOT]]",
		Short: "Check that the repository holds what its snapshots need",
		Long: `Check the repository: every snapshot record opens and chains to its
predecessor, no snapshot this client saw has vanished, every manifest node loads and
matches its Merkle root, every chunk is indexed, and every indexed pack is stored with
its size. Tree packs are read from the storage, never from the cache.

--read-data also reads every pack (or a subset of them) and opens every blob.
Damage is reported with the exact files and snapshots it affects.

--against PATH compares a live directory with a snapshot (default: the latest that
holds PATH, among those --host, --tag and --path select) by Merkle roots, reading only files whose metadata changed; it exits 0
whether or not they differ, 3 if some live files could not be read.

Exit codes: 0 no damage, 4 damage found, 1 verify could not finish (the storage kept
failing, or another error). See docs/verify.md.`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if f.against != "" {
				return runAgainst(cmd, g, f.against, &f.filter, args)
			}
			if len(args) > 0 {
				return fmt.Errorf("a snapshot is named only with --against")
			}
			if f.filter.given() {
				return fmt.Errorf("--host, --tag and --path select the snapshot of --against; verify checks every snapshot")
			}
			return runVerify(cmd, g, &f)
		},
	}
	f.filter.register(cmd)
	fl := cmd.Flags()
	fl.BoolVar(&f.readData, "read-data", false, "read every pack and open every blob")
	fl.StringVar(&f.subset, "read-data-subset", "", "read only subset n/m of the packs, or a random p% of them")
	fl.Uint64Var(&f.seed, "seed", 0, "seed of the random sample of --read-data-subset p% (default: random, printed)")
	fl.BoolVar(&f.sinceLast, "since-last", false, "read only the packs no earlier clean verify read")
	fl.BoolVar(&f.acceptHistory, "accept-history", false, "accept the snapshots present as the history to remember (after deleting some on purpose)")
	fl.StringVar(&f.against, "against", "", "compare the live directory PATH with a snapshot")
	return cmd
}

func runVerify(cmd *cobra.Command, g *globals, f *verifyFlags) error {
	ctx := cmd.Context()
	g.seeThrough = true // verify reads the locked versions under delete markers, and reports them
	opts := verify.Options{ReadData: f.readData, SinceLast: f.sinceLast, AcceptHistory: f.acceptHistory, Progress: &verify.Progress{}}
	if f.subset != "" {
		seed := f.seed
		if !cmd.Flags().Changed("seed") {
			var b [8]byte
			_, _ = rand.Read(b[:])
			seed = binary.LittleEndian.Uint64(b[:]) >> 1 // printable as a positive number
		}
		s, err := verify.ParseSubset(f.subset, seed)
		if err != nil {
			return err
		}
		opts.ReadData, opts.Subset = true, &s
	}
	if opts.SinceLast && opts.Subset != nil {
		return fmt.Errorf("--since-last and --read-data-subset cannot be combined")
	}
	r, err := g.open(ctx)
	if err != nil {
		return err
	}
	defer r.Close()
	p := opts.Progress
	bar := progress.Start(os.Stderr, g.showProgress(), "verify", func() progress.Sample {
		return progress.Sample{Done: p.BytesRead.Load(), Total: p.BytesTotal.Load(),
			Detail: fmt.Sprintf("%d/%d packs", p.PacksDone.Load(), p.PacksTotal.Load())}
	})
	if opts.ReadData {
		defer lowerGC()() // the index and the walk's sets are live for the whole run
	}
	rep, err := verify.Run(ctx, r, opts)
	bar.Stop()
	if rep == nil {
		return err
	}
	if perr := g.print(cmd, rep, func() { printReport(cmd.OutOrStdout(), rep) }); perr != nil {
		return perr
	}
	return err
}

func printReport(w io.Writer, rep *verify.Report) {
	fmt.Fprintf(w, "checked %s in %s: %s, %s; %s indexed\n",
		count(rep.Snapshots, "snapshot", "snapshots"), count(rep.Groups, "history", "histories"),
		count(rep.Trees, "directory", "directories"), count(rep.Files, "file", "files"), count(rep.Packs, "pack", "packs"))
	if rep.Selection != "" {
		fmt.Fprintf(w, "read %s: %s, %s\n", rep.Selection, count(rep.PacksRead, "pack", "packs"), bytesIEC(uint64(rep.BytesRead)))
	}
	if rep.Retried > 0 {
		fmt.Fprintf(w, "%d reads failed once and succeeded when repeated (not damage)\n", rep.Retried)
	}
	printProblems(w, "warnings", rep.Warnings)
	printHiddenWarning(w, rep.Warnings)
	printLocks(w, rep)
	if len(rep.Unreferenced) > 0 {
		fmt.Fprintf(w, "\nunreferenced packs (information, not damage):\n")
		for _, u := range rep.Unreferenced {
			fmt.Fprintf(w, "  %s  %10s  %s\n", u.Pack.Short(), bytesIEC(uint64(u.Size)), u.Reason)
		}
	}
	printLeftovers(w, &rep.Leftovers)
	printProblems(w, "problems", rep.Problems)
	if len(rep.BadBlobs) > 0 {
		fmt.Fprintf(w, "\nbad blobs:\n")
		for _, b := range rep.BadBlobs {
			fmt.Fprintf(w, "  %s %s in pack %s: %s\n", b.Type, b.ID.Short(), b.Pack.Short(), b.Reason)
		}
	}
	printAffected(w, rep.Affected)
	switch {
	case rep.Damaged():
		fmt.Fprintf(w, "\nDAMAGE: %s, %s of %s affected\n", count(len(rep.Problems), "problem", "problems"),
			count(len(rep.Affected), "file or directory", "files or directories"), count(countSnapshots(rep.Affected), "snapshot", "snapshots"))
		if len(rep.Affected) == 0 { // every file restores: only the index needs rebuilding
			fmt.Fprintf(w, "to repair: 'cairn repair index' (with --dry-run first to see what it would do)\n")
		} else {
			fmt.Fprintf(w, "to repair: 'cairn repair index', then 'cairn repair snapshots' (each with --dry-run first to see what it would do)\n")
		}
	case len(rep.Problems) > 0:
		fmt.Fprintf(w, "\nno damage found, but %d objects could not be read\n", len(rep.Problems))
	default:
		fmt.Fprintf(w, "no damage found\n")
	}
}

// printLeftovers sums up what interrupted writes left behind.
func printLeftovers(w io.Writer, l *verify.Leftovers) {
	if !l.Any() {
		return
	}
	grace := time.Duration(l.GraceSeconds * float64(time.Second))
	tally := func(t verify.Tally, one, many string) string {
		return fmt.Sprintf("%s, %s", count(t.Count, one, many), bytesIEC(uint64(t.Bytes)))
	}
	fmt.Fprintf(w, "\nleft by interrupted writes (information, not damage; grace period %s):\n", grace)
	if n := l.UnindexedOld; n.Count > 0 {
		fmt.Fprintf(w, "  %s no index names, older than the grace period (prune removes them)\n", tally(n, "pack", "packs"))
	}
	if n := l.UnindexedRecent; n.Count > 0 {
		fmt.Fprintf(w, "  %s not indexed yet, younger than the grace period (possibly a running backup's)\n", tally(n, "pack", "packs"))
	}
	if l.Temp.Count > 0 {
		fmt.Fprintf(w, "  %s; %s older than the grace period (prune removes those)\n",
			tally(l.Temp, "temporary file", "temporary files"), tally(l.TempOld, "file", "files"))
	}
}

func printProblems(w io.Writer, title string, ps []verify.Problem) {
	if len(ps) == 0 {
		return
	}
	fmt.Fprintf(w, "\n%s:\n", title)
	for _, p := range ps {
		fmt.Fprintf(w, "  %-16s %s: %s\n", p.Kind, p.Object, p.Detail)
	}
}

func printAffected(w io.Writer, as []verify.Affected) {
	if len(as) == 0 {
		return
	}
	fmt.Fprintf(w, "\naffected (cannot be restored whole):\n")
	var last string
	for _, a := range as {
		if s := a.Snapshot.String(); s != last {
			fmt.Fprintf(w, "  snapshot %s (%s, %s):\n", a.Snapshot.Short(), a.Time.Local().Format("2006-01-02 15:04:05"), a.Host)
			last = s
		}
		what := "file"
		if a.Type == "dir" {
			what = "directory: everything under it"
		}
		fmt.Fprintf(w, "    %s  (%s, %s)\n", quoteName(a.Path), what, count(len(a.Blobs), "bad blob", "bad blobs"))
	}
}

func countSnapshots(as []verify.Affected) int {
	seen := map[string]bool{}
	for _, a := range as {
		seen[a.Snapshot.String()] = true
	}
	return len(seen)
}

// runAgainst compares a live directory with a snapshot.
func runAgainst(cmd *cobra.Command, g *globals, path string, f *filterFlags, args []string) error {
	ctx := cmd.Context()
	abs, err := filepath.Abs(path)
	if err != nil {
		return err
	}
	r, s, err := g.openSnapshot(ctx, f, snapshotFor(abs, args))
	if err != nil {
		return err
	}
	defer r.Close()
	w := cmd.OutOrStdout()
	cmp, err := verify.Against(ctx, r, s, abs, func(c manifest.Change) error { return printChange(w, g.json, c) })
	if cmp == nil {
		return err
	}
	for _, u := range cmp.Unreadable {
		g.warn("unreadable", u.Path, errors.New(u.Err))
	}
	if perr := printComparison(w, g.json, s, abs, cmp); perr != nil {
		return perr
	}
	return err // nil, or verify.ErrPartial
}

func printComparison(w io.Writer, asJSON bool, s repo.Snapshot, abs string, cmp *verify.Comparison) error {
	if asJSON {
		return json.NewEncoder(w).Encode(struct {
			MessageType string `json:"message_type"`
			Snapshot    string `json:"snapshot"`
			*verify.Comparison
		}{"summary", s.ID.String(), cmp})
	}
	verdict := "differs from"
	if cmp.Equal {
		verdict = "equals"
	}
	fmt.Fprintf(w, "\n%d added, %d removed, %d modified; %d files read (%s), %d unchanged files not read\n",
		cmp.Added, cmp.Removed, cmp.Modified, cmp.FilesRead, bytesIEC(uint64(cmp.BytesRead)), cmp.FilesReused)
	fmt.Fprintf(w, "%s: root %s %s snapshot %s (root %s)\n", quoteName(abs), cmp.Root.Short(), verdict, s.ID.Short(), cmp.SnapshotRoot.Short())
	return nil
}

// snapshotFor picks the snapshot named in args, or the latest one holding path (this
// host's first).
func snapshotFor(path string, args []string) pickFunc {
	if len(args) == 1 {
		return byID(args[0])
	}
	return func(snaps []repo.Snapshot) (repo.Snapshot, error) { return latestHolding(snaps, path) }
}

// latestHolding returns the latest snapshot holding path, this host's first.
func latestHolding(snaps []repo.Snapshot, path string) (repo.Snapshot, error) {
	host, _ := os.Hostname()
	var any *repo.Snapshot
	for i := len(snaps) - 1; i >= 0; i-- {
		for _, p := range snaps[i].Paths {
			if path != p && !strings.HasPrefix(path, strings.TrimSuffix(p, "/")+"/") {
				continue
			}
			if snaps[i].Host == host {
				return snaps[i], nil
			}
			if any == nil {
				any = &snaps[i]
			}
		}
	}
	if any == nil {
		return repo.Snapshot{}, fmt.Errorf("no snapshot holds %s (name one)", path)
	}
	return *any, nil
}

func printChange(w io.Writer, asJSON bool, c manifest.Change) error {
	j := changeJSON{Path: c.Path, Change: c.Kind.String()}
	mark := map[manifest.ChangeKind]string{manifest.Added: "+", manifest.Removed: "-", manifest.Modified: "M"}[c.Kind]
	if c.Old != nil {
		j.OldSize = c.Old.Size
	}
	if c.New != nil {
		j.NewSize = c.New.Size
	}
	if asJSON {
		return json.NewEncoder(w).Encode(j)
	}
	_, err := fmt.Fprintf(w, "%s  %s\n", mark, quoteName(c.Path))
	return err
}
