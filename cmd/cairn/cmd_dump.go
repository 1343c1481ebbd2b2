package main

import (
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/cairn-backup/cairn/backup/dump"
	"github.com/cairn-backup/cairn/internal/progress"
	"github.com/spf13/cobra"
)

func newDumpCmd(g *globals) *cobra.Command {
	var format, target string
	var f filterFlags
	cmd := &cobra.Command{
		Use:   "dump [flags] SNAPSHOT PATH",
		Short: "Print a file of a snapshot to stdout, or a directory as a tar or zip archive",
		Long: `Write what a snapshot holds at PATH to stdout (or to --target FILE): a file's
content as it is, a directory ("/" for the whole snapshot) as a tar archive, or a zip
archive with --archive zip, holding modes, times, owners (numeric) and symlinks. Paths
in the archive are the entries' paths in the snapshot without the leading "/", as
restic's. Contents are read a window at a time, so memory stays bounded. SNAPSHOT is
an id, a unique prefix, or "latest" (among the snapshots --host, --tag and --path
select).`,
		Example: `  cairn dump latest /etc/hosts
  cairn dump latest /home/alice > alice.tar
  cairn dump --archive zip --target alice.zip 4bba301e /home/alice`,
		Args: cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			if format != string(dump.Tar) && format != string(dump.Zip) {
				return fmt.Errorf("--archive %q: tar or zip", format)
			}
			ctx := cmd.Context()
			r, s, err := g.openSnapshot(ctx, &f, byID(args[0]))
			if err != nil {
				return err
			}
			defer r.Close()
			w, finish, err := dumpOutput(cmd, target)
			if err != nil {
				return err
			}
			_, err = dump.Run(ctx, r, s, args[1], dump.Options{Format: dump.Format(format)}, w)
			return finish(err)
		},
	}
	f.register(cmd)
	cmd.Flags().StringVarP(&format, "archive", "a", "tar", "archive format of a directory: tar or zip")
	cmd.Flags().StringVarP(&target, "target", "t", "", "write to FILE instead of stdout")
	return cmd
}

// dumpOutput opens where the dump goes. An archive or file on a terminal helps nobody,
// so stdout must be redirected, as restic asks. finish closes the file (removing it
// when the dump failed) and returns the dump's error or the close's.
func dumpOutput(cmd *cobra.Command, target string) (io.Writer, func(error) error, error) {
	if target == "" {
		if out, ok := cmd.OutOrStdout().(*os.File); ok && progress.IsTerminal(out) {
			return nil, nil, errors.New("stdout is a terminal: redirect the output or use --target FILE")
		}
		return cmd.OutOrStdout(), func(err error) error { return err }, nil
	}
	f, err := os.OpenFile(target, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return nil, nil, fmt.Errorf("dump: %w", err)
	}
	return f, func(err error) error {
		if cerr := f.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			os.Remove(target)
		}
		return err
	}, nil
}
