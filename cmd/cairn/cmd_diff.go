package main

import (
	"encoding/json"
	"fmt"

	"github.com/cairn-backup/cairn/internal/repo"
	"github.com/cairn-backup/cairn/manifest"
	"github.com/spf13/cobra"
)

type changeJSON struct {
	Path    string `json:"path"`
	Change  string `json:"change"` // added, removed, modified (content), metadata (only)
	OldSize uint64 `json:"old_size,omitempty"`
	NewSize uint64 `json:"new_size,omitempty"`
}

func newDiffCmd(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:   "diff SNAPSHOT1 SNAPSHOT2",
		Short: "Show what changed between two snapshots",
		Long: `Show the entries added (+), removed (-), modified (M: content) and with only
their metadata changed (U: mode, owner, times, xattrs) between two snapshots, as restic
does; directories end in "/". Only subtrees whose Merkle roots differ are read, so the
cost follows the change.`,
		Args: cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			var b repo.Snapshot // the second, found with the first
			r, a, err := g.openSnapshot(ctx, nil, func(snaps []repo.Snapshot) (first repo.Snapshot, err error) {
				if first, err = repo.Find(snaps, args[0]); err == nil {
					b, err = repo.Find(snaps, args[1])
				}
				return first, err
			})
			if err != nil {
				return err
			}
			defer r.Close()
			return printDiff(cmd, g, r, a, b)
		},
	}
}

func printDiff(cmd *cobra.Command, g *globals, r *repo.Repo, a, b repo.Snapshot) error {
	w := cmd.OutOrStdout()
	var added, removed, modified, updated int
	var addedBytes, removedBytes uint64
	err := manifest.Diff(cmd.Context(), r, a.Tree, a.Root, b.Tree, b.Root, func(c manifest.Change) error {
		if c.Kind == manifest.Modified && c.New.Type == manifest.Dir && !c.MetadataChanged() {
			return nil // only something below it changed, and that is listed
		}
		j := changeJSON{Path: "/" + c.Path}
		if e := c.New; (e != nil && e.Type == manifest.Dir) || (e == nil && c.Old.Type == manifest.Dir) {
			j.Path += "/"
		}
		mark := ""
		switch c.Kind {
		case manifest.Added:
			added, addedBytes, mark, j.Change, j.NewSize = added+1, addedBytes+c.New.Size, "+", "added", c.New.Size
		case manifest.Removed:
			removed, removedBytes, mark, j.Change, j.OldSize = removed+1, removedBytes+c.Old.Size, "-", "removed", c.Old.Size
		default:
			j.OldSize, j.NewSize = c.Old.Size, c.New.Size
			if contentChanged(c) {
				modified, mark, j.Change = modified+1, "M", "modified"
			} else {
				updated, mark, j.Change = updated+1, "U", "metadata"
			}
		}
		if g.json {
			return json.NewEncoder(w).Encode(j)
		}
		_, err := fmt.Fprintf(w, "%s  %s\n", mark, quoteName(j.Path))
		return err
	})
	if err != nil || g.json {
		return err
	}
	fmt.Fprintf(w, "\n%d added (%s), %d removed (%s), %d modified, %d with only metadata changed\n",
		added, bytesIEC(addedBytes), removed, bytesIEC(removedBytes), modified, updated)
	return nil
}

// contentChanged: what the entry holds changed (a file's bytes, a symlink's target, a
// device number), not only its metadata. A directory's content is its entries, which
// are listed on their own.
func contentChanged(c manifest.Change) bool {
	o, n := c.Old, c.New
	if n.Type == manifest.Dir {
		return false
	}
	return o.Content != n.Content || o.Size != n.Size || o.Target != n.Target || o.Rdev != n.Rdev
}
