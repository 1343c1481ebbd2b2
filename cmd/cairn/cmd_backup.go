package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/cairn-backup/cairn/backup/archive"
	"github.com/cairn-backup/cairn/internal/digest"
	"github.com/cairn-backup/cairn/internal/progress"
	"github.com/spf13/cobra"
)

type backupFlags struct {
	host, parent, at     string
	tags                 []string
	force, dryRun        bool
	excludes, exclFiles  []string
	filesFrom, verbatim  []string
	excludeCaches, oneFS bool
	uploads              int
	stdin, stdinCmd      bool
	stdinName            string
	iexcludes, iexclFile []string
	ifPresent            []string
	largerThan           string
	skipUnchanged        bool
	verbose              bool
}

func newBackupCmd(g *globals) *cobra.Command {
	var f backupFlags
	cmd := &cobra.Command{
		Use:   "backup [PATH...] | --stdin | --stdin-from-command -- CMD [ARGS...]",
		Short: "Back up files and directories into a new snapshot",
		Long: `Back up the given paths into a new snapshot. Files unchanged since the parent
snapshot (the latest of the same host and paths) are not read again.

Exit codes: 0 ok, 3 snapshot made but some files were unreadable (each listed),
1 repository error (no snapshot), 130 interrupted (no snapshot).

With --stdin, standard input is stored as one file (named by --stdin-filename);
with --stdin-from-command, the output of the command after "--" is, and the
command's non-zero exit status fails the backup (no snapshot is made).`,
		RunE: func(cmd *cobra.Command, args []string) error { return runBackup(cmd, g, &f, args) },
	}
	fl := cmd.Flags()
	host, _ := os.Hostname()
	fl.StringVar(&f.host, "host", host, "host name recorded in the snapshot")
	fl.StringArrayVar(&f.tags, "tag", nil, "tag the snapshot (repeatable)")
	fl.StringVar(&f.at, "time", "", "record `TIME` as the snapshot's time instead of now (\"2006-01-02 15:04:05\" in local time, or RFC 3339)")
	fl.StringVar(&f.parent, "parent", "", "snapshot to compare with (default: latest of the same host and paths)")
	fl.BoolVar(&f.force, "force", false, "read every file, even unchanged ones")
	fl.BoolVarP(&f.dryRun, "dry-run", "n", false, "show what would be stored, store nothing")
	fl.StringArrayVarP(&f.excludes, "exclude", "e", nil, "exclude paths matching GLOB (repeatable)")
	fl.StringArrayVar(&f.exclFiles, "exclude-file", nil, "read exclude patterns from FILE (repeatable)")
	fl.StringArrayVar(&f.iexcludes, "iexclude", nil, "like --exclude, ignoring case (repeatable)")
	fl.StringArrayVar(&f.iexclFile, "iexclude-file", nil, "like --exclude-file, ignoring case (repeatable)")
	fl.StringArrayVar(&f.ifPresent, "exclude-if-present", nil, "skip directories holding a file named `FILE` (FILE:HEADER: one starting with HEADER; repeatable)")
	fl.StringVar(&f.largerThan, "exclude-larger-than", "", "skip files larger than `SIZE` (bytes, or with K, M, G, T)")
	fl.BoolVarP(&f.verbose, "verbose", "v", false, "list every file stored (with --dry-run: every file that would be)")
	fl.BoolVar(&f.skipUnchanged, "skip-if-unchanged", false, "make no snapshot when nothing changed since the parent")
	fl.StringArrayVar(&f.filesFrom, "files-from", nil, "also back up the paths listed in FILE, one a line; blank lines and # comments skipped (repeatable)")
	fl.StringArrayVar(&f.verbatim, "files-from-verbatim", nil, "like --files-from, every non-empty line taken as it is (repeatable)")
	fl.BoolVar(&f.excludeCaches, "exclude-caches", false, "skip the contents of directories with a CACHEDIR.TAG")
	fl.BoolVarP(&f.oneFS, "one-file-system", "x", false, "do not cross file system boundaries")
	fl.BoolVar(&f.stdin, "stdin", false, "back up standard input as one file")
	fl.BoolVar(&f.stdinCmd, "stdin-from-command", false, "back up the standard output of the command given after --; its failure fails the backup")
	fl.StringVar(&f.stdinName, "stdin-filename", archive.DefaultStdinName, "`NAME` of the file --stdin and --stdin-from-command store")
	fl.IntVar(&f.uploads, "upload-concurrency", 2, "packs uploaded in parallel")
	return cmd
}

func runBackup(cmd *cobra.Command, g *globals, f *backupFlags, paths []string) error {
	ctx := cmd.Context()
	opts, err := f.options(g, paths)
	if err != nil {
		return err
	}
	open := g.openBackup // sends the run note and the first listings while the key is derived
	if f.dryRun {
		open = g.open // stores nothing, not even a note
	}
	r, err := open(ctx)
	if err != nil {
		return err
	}
	defer r.Close()
	if f.stdin || f.stdinCmd {
		src, err := openStdin(ctx, f.stdinCmd, paths)
		if err != nil {
			return err
		}
		defer src.close()
		opts.Stdin, opts.StdinName = src.rd, f.stdinName
	}
	stats := &archive.Progress{}
	opts.Progress = stats
	if f.verbose && !g.json {
		opts.Changed = listChanged(cmd.OutOrStdout())
	}
	backupGC(ctx, stats)
	opts.Count = g.showProgress() || (g.json && !g.quiet)
	bar := progress.Start(os.Stderr, g.showProgress(), "backup", func() progress.Sample { return backupSample(stats) })
	status := progress.Tick(time.Second, g.statusLines(cmd.OutOrStdout(), stats))
	run := backupRun{start: time.Now(), host: opts.Host, repo: r.Location(), paths: opts.Paths}
	res, err := archive.Run(ctx, r, opts)
	run.end = time.Now()
	status.Stop()
	bar.Stop()
	warnIndexDamage(os.Stderr, r)
	if res == nil {
		return err
	}
	for _, u := range res.Unreadable {
		g.warn("unreadable", u.Path, u.Err)
	}
	if perr := printBackupSummary(cmd.OutOrStdout(), g.json, res, run); perr != nil {
		return perr
	}
	return err // nil, or archive.ErrPartial
}

// listChanged prints, for -v, one line per file stored, as restic does.
func listChanged(w io.Writer) func(string, bool, int64) {
	var mu sync.Mutex
	return func(path string, isNew bool, size int64) {
		what := "modified"
		if isNew {
			what = "new"
		}
		mu.Lock()
		defer mu.Unlock()
		fmt.Fprintf(w, "%-8s  %s, %s\n", what, path, bytesIEC(uint64(size)))
	}
}

// statusLines returns the --json status printer, or nil when there is none to print.
func (g *globals) statusLines(w io.Writer, s *archive.Progress) func() {
	if !g.json || g.quiet {
		return nil
	}
	enc := json.NewEncoder(w)
	return func() {
		_ = enc.Encode(map[string]any{
			"message_type": "status", "files_done": s.Files.Load(), "dirs_done": s.Dirs.Load(),
			"bytes_done": s.BytesRead.Load() + skippedBytes(s), "bytes_read": s.BytesRead.Load(),
			"total_bytes_estimate": s.EstimateBytes.Load(), "errors": s.Errors.Load(),
			"total_files": s.TotalFiles.Load(), "total_bytes": s.TotalBytes.Load(), "total_counted": s.Counted.Load(),
		})
	}
}

// backupSample is the bar's state: the parent snapshot's size stands in for the total
// until the count beside the backup is done, and then the counted total.
func backupSample(s *archive.Progress) progress.Sample {
	total, files := s.EstimateBytes.Load(), fmt.Sprintf("%d files", s.Files.Load())
	if s.Counted.Load() {
		total, files = s.TotalBytes.Load(), fmt.Sprintf("%d of %d files", s.Files.Load(), s.TotalFiles.Load())
	}
	return progress.Sample{Done: s.BytesRead.Load() + skippedBytes(s), Total: total, Detail: files}
}

// skippedBytes counts unchanged files as done, so the bar tracks the whole tree.
func skippedBytes(s *archive.Progress) int64 { return s.Bytes.Load() - s.BytesRead.Load() }

func (f *backupFlags) options(g *globals, paths []string) (archive.Options, error) {
	paths, err := f.allPaths(paths)
	if err != nil {
		return archive.Options{}, err
	}
	if f.stdin || f.stdinCmd {
		paths = nil // the arguments are the command; the engine names the one path
	}
	opts := archive.Options{
		Paths: paths, Host: f.host, Tags: f.tags, Force: f.force, DryRun: f.dryRun,
		Excludes: f.excludes, ExcludeCaches: f.excludeCaches, OneFileSystem: f.oneFS,
		Program: "cairn " + version, Uploads: f.uploads, SkipIfUnchanged: f.skipUnchanged,
		IExcludes: f.iexcludes, ExcludeIfPresent: f.ifPresent,
	}
	if f.largerThan != "" {
		if opts.ExcludeLargerThan, err = parseSize(f.largerThan); err != nil {
			return opts, fmt.Errorf("--exclude-larger-than: %w", err)
		}
	}
	opts.User = currentUser()
	if f.at != "" {
		t, err := parseSnapshotTime(f.at)
		if err != nil {
			return opts, err
		}
		opts.Clock = clockFrom(t)
	}
	for _, file := range f.exclFiles {
		pats, err := archive.ReadListFile(file)
		if err != nil {
			return opts, fmt.Errorf("exclude file: %w", err)
		}
		opts.Excludes = append(opts.Excludes, pats...)
	}
	for _, file := range f.iexclFile {
		pats, err := archive.ReadListFile(file)
		if err != nil {
			return opts, fmt.Errorf("iexclude file: %w", err)
		}
		opts.IExcludes = append(opts.IExcludes, pats...)
	}
	if f.parent != "" {
		id, err := digest.Parse(f.parent)
		if err != nil {
			return opts, fmt.Errorf("--parent needs a full snapshot id: %w", err)
		}
		opts.Parent = &id
	}
	return opts, nil
}

// parseSnapshotTime reads --time: "2006-01-02 15:04:05" in local time, as restic
// takes it, or RFC 3339 with its own offset.
func parseSnapshotTime(s string) (time.Time, error) {
	if t, err := time.ParseInLocation(time.DateTime, s, time.Local); err == nil {
		return t, nil
	}
	if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
		return t, nil
	}
	return time.Time{}, fmt.Errorf("--time %q: want \"2006-01-02 15:04:05\" (local time) or RFC 3339", s)
}

// clockFrom returns a clock that reads t at its first call and then advances with
// the real one, so the snapshot gets time t and the run's duration stays true.
func clockFrom(t time.Time) func() time.Time {
	var mu sync.Mutex
	var start time.Time
	return func() time.Time {
		mu.Lock()
		defer mu.Unlock()
		if start.IsZero() {
			start = time.Now()
			return t
		}
		return t.Add(time.Since(start))
	}
}

// allPaths adds the paths of --files-from and --files-from-verbatim to the arguments.
func (f *backupFlags) allPaths(args []string) ([]string, error) {
	if f.stdin || f.stdinCmd {
		if len(f.filesFrom)+len(f.verbatim) > 0 {
			return nil, errors.New("--stdin and --stdin-from-command back up a stream, not --files-from")
		}
		return args, nil
	}
	paths := append([]string(nil), args...)
	for _, file := range f.filesFrom {
		lines, err := archive.ReadListFile(file)
		if err != nil {
			return nil, fmt.Errorf("--files-from: %w", err)
		}
		paths = append(paths, lines...)
	}
	for _, file := range f.verbatim {
		data, err := os.ReadFile(file)
		if err != nil {
			return nil, fmt.Errorf("--files-from-verbatim: %w", err)
		}
		for _, line := range strings.Split(string(data), "\n") {
			if line != "" {
				paths = append(paths, line)
			}
		}
	}
	if len(paths) == 0 {
		return nil, errors.New("nothing to back up: give paths, or --files-from FILE")
	}
	return paths, nil
}
