package main

import (
	"errors"
	"fmt"
	"os"

	"github.com/cairn-backup/cairn/backup/mount"
	"github.com/spf13/cobra"
)

func newMountCmd(g *globals) *cobra.Command {
	var f filterFlags
	var cacheMiB int64
	var allowOther bool
	cmd := &cobra.Command{
		Use:   "mount MOUNTPOINT",
		Short: "Serve the snapshots as a read-only file system (FUSE) until interrupted",
		Long: `Mount the repository's snapshots read-only at MOUNTPOINT, an empty directory:

  ids/<short id>/                 each snapshot by id
  snapshots/<time>/, latest       by time; latest links to the newest
  hosts/<host>/<time>/, latest    by host
  tags/<tag>/<time>/, latest      by tag

Files show their stored mode, owner, size and times, and are read from the
repository as they are read, through a cache of --cache-size MiB. The snapshots are
those of the moment of mounting. cairn serves until Ctrl-C, SIGTERM or
'fusermount -u MOUNTPOINT', unmounts and exits 0. Mounting needs /dev/fuse, and
fusermount unless run as root.`,
		Example: `  cairn mount /mnt/backup &
  cp /mnt/backup/snapshots/latest/etc/hosts /tmp/hosts
  fusermount -u /mnt/backup`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if cacheMiB < 1 {
				return errors.New("--cache-size: give at least 1 (MiB)")
			}
			st, err := os.Stat(args[0])
			if err != nil {
				return fmt.Errorf("mountpoint: %w", err)
			}
			if !st.IsDir() {
				return fmt.Errorf("mountpoint %s is not a directory", args[0])
			}
			r, snaps, err := g.openSnapshots(cmd.Context(), &f)
			if err != nil {
				return err
			}
			defer r.Close()
			out, errw := cmd.OutOrStdout(), cmd.ErrOrStderr()
			opts := mount.Options{Mountpoint: args[0], CacheSize: cacheMiB << 20, AllowOther: allowOther,
				Warn: func(err error) { fmt.Fprintf(errw, "cairn: mount: %v\n", err) },
				Ready: func() {
					if !g.quiet {
						fmt.Fprintf(out, "serving %d snapshots at %s\n", len(snaps), args[0])
						fmt.Fprintln(out, "browse it in another terminal; quit with Ctrl-C here or 'fusermount -u' of the mountpoint")
					}
				}}
			if err := mount.Run(cmd.Context(), r, snaps, opts); err != nil {
				return err
			}
			if !g.quiet {
				fmt.Fprintf(out, "unmounted %s\n", args[0])
			}
			return nil
		},
	}
	f.register(cmd)
	cmd.Flags().Int64Var(&cacheMiB, "cache-size", mount.DefaultCacheSize>>20, "MiB of file contents kept in memory")
	cmd.Flags().BoolVar(&allowOther, "allow-other", false, "let other users in (permissions are then checked against the stored owners and modes)")
	return cmd
}
