package main

import (
	"context"
	"fmt"
	"os"

	"github.com/cairn-backup/cairn/backup/transfer"
	"github.com/cairn-backup/cairn/internal/repo"
	"github.com/spf13/cobra"
)

// fromFlags name another repository to read from (copy's source, and the repository
// whose chunker parameters init --copy-chunker-params takes).
type fromFlags struct {
	repo, passwordFile, passwordCmd string
}

func (f *fromFlags) register(cmd *cobra.Command) {
	fl := cmd.Flags()
	fl.StringVar(&f.repo, "from-repo", os.Getenv("CAIRN_FROM_REPO"), "source repository (env CAIRN_FROM_REPO)")
	fl.StringVar(&f.passwordFile, "from-password-file", os.Getenv("CAIRN_FROM_PASSWORD_FILE"),
		"read the source repository's password from this file (env CAIRN_FROM_PASSWORD_FILE; or CAIRN_FROM_PASSWORD)")
	fl.StringVar(&f.passwordCmd, "from-password-command", os.Getenv("CAIRN_FROM_PASSWORD_COMMAND"),
		"run this shell command for the source repository's password (env CAIRN_FROM_PASSWORD_COMMAND)")
}

// open opens the source repository with the same cache, state and S3 settings as g.
func (f *fromFlags) open(ctx context.Context, g *globals) (*repo.Repo, error) {
	if f.repo == "" {
		return nil, fmt.Errorf("no source repository given (use --from-repo or CAIRN_FROM_REPO)")
	}
	from := *g
	from.repo, from.passwordFile, from.passwordCmd, from.passwordVar = f.repo, f.passwordFile, f.passwordCmd, "CAIRN_FROM_PASSWORD"
	r, err := from.open(ctx)
	if err != nil {
		return nil, fmt.Errorf("source repository: %w", err)
	}
	return r, nil
}

type copyJSON struct {
	Copied    []string `json:"copied"`
	Skipped   []string `json:"skipped"`
	Blobs     int      `json:"blobs_copied"`
	Bytes     int64    `json:"bytes_copied"`
	Reused    int      `json:"blobs_reused"`
	Explained []string `json:"predecessors_not_copied,omitempty"`
}

func newCopyCmd(g *globals) *cobra.Command {
	var from fromFlags
	var f filterFlags
	cmd := &cobra.Command{
		Use:   "copy --from-repo LOCATION [flags] [SNAPSHOT...]",
		Short: "Copy snapshots from another repository into this one",
		Long: `Copy snapshots (all, those --host, --tag and --path select, or the ones named)
from the repository --from-repo into the repository --repo, for example from a local
directory to an off-site bucket. Only blobs the target lacks are read and uploaded,
sealed with the target's key. Each snapshot record is stored byte for byte, so it
keeps its id, its root (proofs made in the source verify against the target) and its
place in its chain; snapshots the target already has are skipped, so a rerun copies
nothing. A predecessor not copied is recorded in the target as absent on purpose, so
verify there notes where the copied chain starts rather than reporting it broken.

Chunks are not cut again: for later backups into the target to deduplicate against
copied files, create the target with 'cairn init --copy-chunker-params --from-repo'.`,
		Example: `  cairn -r s3:https://s3.example.com/offsite copy --from-repo /srv/backup \
      --from-password-file /etc/cairn/local.pw
  cairn copy --from-repo /srv/backup --host web1 latest`,
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			src, err := from.open(ctx, g)
			if err != nil {
				return err
			}
			defer src.Close()
			snaps, err := g.loadSnapshots(ctx, src, &f)
			if err != nil {
				return err
			}
			if snaps, err = pickRefs(snaps, args); err != nil {
				return err
			}
			dst, err := g.open(ctx)
			if err != nil {
				return err
			}
			defer dst.Close()
			res, err := transfer.Run(ctx, src, dst, snaps, transfer.Options{})
			if res != nil {
				if perr := printCopy(cmd, g, res); err == nil {
					err = perr
				}
			}
			return err
		},
	}
	from.register(cmd)
	f.register(cmd)
	return cmd
}

// pickRefs keeps the snapshots refs name (ids, prefixes, "latest"); all when none.
func pickRefs(snaps []repo.Snapshot, refs []string) ([]repo.Snapshot, error) {
	if len(refs) == 0 {
		return snaps, nil
	}
	ff := findFlags{snapshots: refs}
	return ff.pick(snaps)
}

func printCopy(cmd *cobra.Command, g *globals, res *transfer.Result) error {
	j := copyJSON{Copied: []string{}, Skipped: []string{}, Blobs: res.Blobs, Bytes: res.Bytes, Reused: res.Reused}
	for _, id := range res.Copied {
		j.Copied = append(j.Copied, id.String())
	}
	for _, id := range res.Skipped {
		j.Skipped = append(j.Skipped, id.String())
	}
	for _, id := range res.Explained {
		j.Explained = append(j.Explained, id.String())
	}
	return g.print(cmd, j, func() {
		w := cmd.OutOrStdout()
		if !g.quiet {
			for _, id := range res.Skipped {
				fmt.Fprintf(w, "skipping snapshot %s: already in the target\n", id.Short())
			}
			for _, id := range res.Copied {
				fmt.Fprintf(w, "copied snapshot %s\n", id.Short())
			}
		}
		fmt.Fprintf(w, "copied %s: %s (%s) uploaded, %s already in the target\n", count(len(res.Copied), "snapshot", "snapshots"),
			count(res.Blobs, "blob", "blobs"), bytesIEC(uint64(res.Bytes)), count(res.Reused, "blob", "blobs"))
	})
}
