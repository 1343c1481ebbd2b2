package main

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strconv"
	"sync"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/cairn-backup/cairn/backup/restore"
	"github.com/cairn-backup/cairn/internal/progress"
	"github.com/spf13/cobra"
)

type restoreFlags struct {
	filter                           filterFlags
	target, at, overwrite, sparse    string
	include, exclude                 []string
	iinclude, iexclude               []string
	del, dryRun, verify, fsync, verb bool
	skipDamaged                      bool
	owner, special                   bool
	workers                          int
}

func newRestoreCmd(g *globals) *cobra.Command {
	var f restoreFlags
	cmd := &cobra.Command{
		Use:   "restore [SNAPSHOT][:PATH] --target DIR",
		Short: "Restore a snapshot, or one directory or file of it, into a directory",
		Long: `Restore a snapshot into DIR: "latest", a snapshot id or unique prefix, or with
--at TIME the newest snapshot taken at or before TIME (RFC 3339, or YYYY-MM-DD[ HH:MM]
in local time). A whole snapshot lands under DIR at its absolute paths (DIR/home/u/…);
SNAPSHOT:/home/u/docs restores that directory's contents into DIR itself (DIR/…),
and SNAPSHOT:/etc/hosts the file as DIR/hosts.

Exit codes: 0 ok, 3 finished but some entries (each listed) were not restored,
1 nothing restored (no such snapshot, target unusable, repository error), 130 interrupted.`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error { return runRestore(cmd, g, &f, args) },
	}
	f.filter.register(cmd)
	root := os.Geteuid() == 0
	fl := cmd.Flags()
	fl.StringVarP(&f.target, "target", "t", "", "directory to restore into (required)")
	fl.StringVar(&f.at, "at", "", "restore the newest snapshot taken at or before TIME")
	fl.StringArrayVarP(&f.include, "include", "i", nil, "restore only paths matching GLOB, and the directories above them (repeatable)")
	fl.StringArrayVarP(&f.exclude, "exclude", "e", nil, "leave out paths matching GLOB (repeatable)")
	fl.StringArrayVar(&f.iinclude, "iinclude", nil, "like --include, ignoring case (repeatable)")
	fl.StringArrayVar(&f.iexclude, "iexclude", nil, "like --exclude, ignoring case (repeatable)")
	fl.StringVar(&f.overwrite, "overwrite", "if-changed", "existing files: if-changed (kept when size, mtime and content match), always or never")
	fl.StringVar(&f.sparse, "sparse", "auto", "write all-zero chunks as holes: auto (files that had holes), always or never")
	fl.BoolVar(&f.del, "delete", false, "remove what the snapshot does not have, under what is restored")
	fl.BoolVarP(&f.dryRun, "dry-run", "n", false, "show what would be done, change nothing")
	fl.BoolVar(&f.verify, "verify", false, "read every written file back and check it")
	fl.BoolVar(&f.fsync, "fsync", false, "flush every file to disk before it is renamed into place")
	fl.BoolVarP(&f.verb, "verbose", "v", false, "list every change")
	fl.BoolVar(&f.owner, "owner", root, "restore owners and groups (the default for root)")
	fl.BoolVar(&f.special, "preserve-special", root, "restore setuid/setgid bits and device nodes (the default for root)")
	fl.BoolVar(&f.skipDamaged, "skip-damaged", false, `with "latest" or --at: if a damaged snapshot record may be the one meant, restore the newest readable one instead of failing`)
	fl.IntVar(&f.workers, "read-concurrency", 0, "packs read in parallel (default 2 per CPU, at least 4)")
	_ = cmd.MarkFlagRequired("target")
	return cmd
}

func runRestore(cmd *cobra.Command, g *globals, f *restoreFlags, args []string) error {
	ctx := cmd.Context()
	g.seeThrough = true // a restore reads the locked versions under delete markers
	arg := ""
	if len(args) == 1 {
		arg = args[0]
	}
	ref, sub := restore.SplitRef(arg)
	opts, at, err := f.options(sub)
	if err != nil {
		return err
	}
	r, snap, err := g.openRestoreSnapshot(ctx, f, ref, at)
	if err != nil {
		return err
	}
	defer r.Close()
	if f.verb && !g.json {
		opts.Log = actionLogger(cmd.OutOrStdout(), f.dryRun)
	}
	prog := &restore.Progress{}
	opts.Progress = prog
	bar := progress.Start(os.Stderr, g.showProgress(), "restore", func() progress.Sample {
		return progress.Sample{Done: prog.Bytes.Load(), Total: prog.TotalBytes.Load(),
			Detail: fmt.Sprintf("%d of %d files", prog.Files.Load(), prog.TotalFiles.Load())}
	})
	undoGC := lowerGC() // the plan of every file is live for the whole run
	res, err := restore.Run(ctx, r, snap, opts)
	undoGC()
	bar.Stop()
	warnIndexDamage(os.Stderr, r)
	warnHidden(os.Stderr, r.Hidden())
	if res == nil {
		return err
	}
	reportProblems(os.Stderr, g.quiet, res)
	if perr := printRestoreSummary(cmd.OutOrStdout(), g.json, snap.ID.String(), f.target, res); perr != nil {
		return perr
	}
	return err
}

func (f *restoreFlags) options(sub string) (restore.Options, *time.Time, error) {
	opts := restore.Options{Target: f.target, Path: sub, Include: f.include, Exclude: f.exclude,
		IInclude: f.iinclude, IExclude: f.iexclude,
		Delete: f.del, DryRun: f.dryRun, Verify: f.verify, Sync: f.fsync, Owner: f.owner, Special: f.special,
		Workers: f.workers}
	var err error
	if opts.Overwrite, err = restore.ParseOverwrite(f.overwrite); err != nil {
		return opts, nil, err
	}
	if opts.Sparse, err = restore.ParseSparse(f.sparse); err != nil {
		return opts, nil, err
	}
	if f.at == "" {
		return opts, nil, nil
	}
	at, err := restore.ParseTime(f.at, time.Local)
	if err != nil {
		return opts, nil, fmt.Errorf("--at: %w", err)
	}
	return opts, &at, nil
}

// actionLogger prints one line per change; the engine calls it from many goroutines.
func actionLogger(w io.Writer, dry bool) func(action, path string) {
	var mu sync.Mutex
	prefix := ""
	if dry {
		prefix = "would "
	}
	return func(action, path string) {
		if dry && action == "unchanged" {
			action = "skip" // "would skip", not "would unchanged"
		}
		mu.Lock()
		defer mu.Unlock()
		fmt.Fprintf(w, "%s%-9s %s\n", prefix, action, showName(path))
	}
}

// showName prints a path as is unless it holds bytes a terminal would mangle (control
// characters, invalid UTF-8): those are quoted, Go-style.
func showName(p string) string {
	for _, r := range p {
		if r == utf8.RuneError || !unicode.IsPrint(r) {
			return strconv.Quote(p)
		}
	}
	return p
}

func reportProblems(w io.Writer, quiet bool, res *restore.Result) {
	if !quiet {
		for _, n := range res.Notes {
			fmt.Fprintf(w, "cairn: skipped: %s: %v\n", showName(n.Path), n.Err)
		}
	}
	for _, p := range res.Problems {
		what := "not restored"
		if p.Damaged {
			what = "damaged"
		}
		fmt.Fprintf(w, "cairn: %s: %s: %v\n", what, showName(p.Path), p.Err)
	}
	if n := len(res.Problems); n > 0 {
		fmt.Fprintf(w, "cairn: %s not restored exactly (%d from damaged or missing repository data); everything else was restored\n", count(n, "entry", "entries"), res.Damaged())
	}
}

type restoreSummary struct {
	MessageType string           `json:"message_type"`
	Snapshot    string           `json:"snapshot_id"`
	Target      string           `json:"target"`
	DryRun      bool             `json:"dry_run,omitempty"`
	Files       int64            `json:"files"`
	Dirs        int64            `json:"dirs"`
	Symlinks    int64            `json:"symlinks"`
	Links       int64            `json:"hard_links"`
	Specials    int64            `json:"specials"`
	Unchanged   int64            `json:"unchanged"`
	Kept        int64            `json:"kept"`
	Deleted     int64            `json:"deleted"`
	Bytes       int64            `json:"bytes"`
	Errors      int              `json:"errors"`
	Damaged     int              `json:"damaged"`
	Problems    []restoreProblem `json:"problems,omitempty"`
	Seconds     float64          `json:"duration_seconds"`
}

type restoreProblem struct {
	Path    string `json:"path"`
	Error   string `json:"error"`
	Damaged bool   `json:"damaged,omitempty"`
}

func printRestoreSummary(w io.Writer, asJSON bool, snap, target string, res *restore.Result) error {
	if asJSON {
		sum := restoreSummary{MessageType: "summary", Snapshot: snap, Target: target, DryRun: res.DryRun,
			Files: res.Files, Dirs: res.Dirs, Symlinks: res.Symlinks, Links: res.Links, Specials: res.Specials,
			Unchanged: res.Unchanged, Kept: res.Kept, Deleted: res.Deleted, Bytes: res.Bytes,
			Errors: len(res.Problems), Damaged: res.Damaged(), Seconds: res.Duration.Seconds()}
		for _, p := range res.Problems {
			sum.Problems = append(sum.Problems, restoreProblem{Path: p.Path, Error: p.Err.Error(), Damaged: p.Damaged})
		}
		return json.NewEncoder(w).Encode(sum)
	}
	verb := "restored"
	if res.DryRun {
		verb = "would be restored (dry run)"
	}
	fmt.Fprintf(w, "Files:      %d written (%s), %d unchanged, %d kept, %d deleted\n", res.Files, bytesIEC(uint64(res.Bytes)), res.Unchanged, res.Kept, res.Deleted)
	fmt.Fprintf(w, "Other:      %d directories, %d symlinks, %d hard links, %d special files\n", res.Dirs, res.Symlinks, res.Links, res.Specials)
	fmt.Fprintf(w, "snapshot %s %s to %s in %s\n", snap[:8], verb, target, res.Duration.Round(time.Millisecond))
	return nil
}
