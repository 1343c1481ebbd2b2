package main

import (
	"fmt"

	"github.com/cairn-backup/cairn/internal/repo"
	"github.com/cairn-backup/cairn/remote"
	"github.com/spf13/cobra"
)

func newInitCmd(g *globals) *cobra.Command {
	var packMiB, version int
	var copyChunker bool
	var from fromFlags
	var lf lockFlags
	cmd := &cobra.Command{
		Use:   "init",
		Short: "Create a new repository",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx := cmd.Context()
			pw, err := g.initPassword()
			if err != nil {
				return err
			}
			opts, err := g.options(pw)
			if err != nil {
				return err
			}
			opts.PackSize = packMiB << 20
			opts.Format = version
			if copyChunker {
				if opts.ChunkerFrom, err = chunkerOf(cmd, g, &from); err != nil {
					return err
				}
			}
			if opts.Lock, err = lf.config(); err != nil {
				return err
			}
			st, err := g.storeWith(ctx, true, lf.enabled)
			if err != nil {
				return err
			}
			r, err := repo.Init(ctx, st, opts)
			if err != nil {
				st.Close()
				return err
			}
			defer r.Close()
			return g.print(cmd, map[string]any{"repository": r.ID(), "location": r.Location()}, func() {
				fmt.Fprintf(cmd.OutOrStdout(), "created cairn repository %s at %s\n", r.ID().Short(), r.Location())
				if lc := r.LockConfig(); lc != nil {
					fmt.Fprintf(cmd.OutOrStdout(), "objects are locked (%s) for %s past each snapshot\n", lc.Mode, lc.Duration())
				}
				if !g.quiet {
					fmt.Fprintln(cmd.OutOrStdout(), "Keep the password safe: without it the data cannot be read back.")
				}
			})
		},
	}
	cmd.Flags().BoolVar(&lf.enabled, "object-lock", false, "lock every object a snapshot needs (S3 Object Lock; makes the bucket with it)")
	cmd.Flags().StringVar(&lf.mode, "lock-mode", string(remote.Governance), "with --object-lock: governance or compliance (docs/s3.md)")
	cmd.Flags().StringVar(&lf.lockFor, "lock-for", "30d", "with --object-lock: how long past a snapshot's time its objects stay locked")
	cmd.Flags().IntVar(&packMiB, "pack-size", 16, "target pack size in MiB (1-128)")
	cmd.Flags().IntVar(&version, "repository-version", repo.FormatVersion,
		"repository format: 2 (XAES-256-GCM), or 1 (XChaCha20-Poly1305) for older cairn releases")
	cmd.Flags().BoolVar(&copyChunker, "copy-chunker-params", false,
		"take the chunker parameters of --from-repo, so that snapshots copied from it deduplicate with new backups")
	from.register(cmd)
	return cmd
}

// chunkerOf opens the repository from names and returns its config.
func chunkerOf(cmd *cobra.Command, g *globals, from *fromFlags) (*repo.Config, error) {
	r, err := from.open(cmd.Context(), g)
	if err != nil {
		return nil, err
	}
	defer r.Close()
	cfg := r.Config()
	return &cfg, nil
}

// initPassword asks twice when it prompts: a typo here would lock the user out. It
// runs before anything is created, so a refused password leaves nothing behind.
func (g *globals) initPassword() ([]byte, error) {
	return g.passwordFrom("enter password for new repository: ", true)
}
