package main

import (
	"errors"
	"fmt"

	"github.com/cairn-backup/cairn/backup/tag"
	"github.com/cairn-backup/cairn/internal/repo"
	"github.com/spf13/cobra"
)

type tagFlags struct {
	filter           filterFlags
	add, remove, set []string
}

// replacedJSON is one line of `tag --json`: a snapshot record and the one that
// replaced it.
type replacedJSON struct {
	Old string `json:"old"`
	New string `json:"new"`
}

func newTagCmd(g *globals) *cobra.Command {
	var f tagFlags
	cmd := &cobra.Command{
		Use:   "tag [SNAPSHOT...] --add|--remove|--set TAG",
		Short: "Add, remove or set the tags of snapshots",
		Long: `Change the tags of the snapshots named (ids, unique prefixes or "latest"), or
with no snapshot named, of every snapshot --host, --tag and --path select; one of
them is needed. --add and --remove (repeatable) may be combined; --set replaces every
tag (--set "" removes them all). "a,b" in one flag means both tags.

A snapshot's record is named by its hash, so a record with new tags gets a new id:
the old id is recorded as replaced by the new one, and verify follows the
replacement, so the snapshot chain stays whole. Snapshots whose tags would not
change are left alone.`,
		RunE: func(cmd *cobra.Command, args []string) error { return runTag(cmd, g, &f, args) },
	}
	f.filter.register(cmd)
	fl := cmd.Flags()
	fl.StringArrayVar(&f.add, "add", nil, "add this tag (repeatable)")
	fl.StringArrayVar(&f.remove, "remove", nil, "remove this tag (repeatable)")
	fl.StringArrayVar(&f.set, "set", nil, "replace the tags by this one (repeatable)")
	return cmd
}

func runTag(cmd *cobra.Command, g *globals, f *tagFlags, args []string) error {
	ch := tag.Change{Add: splitAll(f.add), Remove: splitAll(f.remove), Set: splitAll(f.set),
		SetGiven: cmd.Flags().Changed("set")}
	if err := ch.Validate(); err != nil {
		return err
	}
	if len(args) == 0 && !f.filter.given() {
		return errors.New("name the snapshots to tag, or select them with --host, --tag or --path")
	}
	ctx := cmd.Context()
	r, snaps, err := g.openSnapshots(ctx, &f.filter)
	if err != nil {
		return err
	}
	defer r.Close()
	if len(args) > 0 {
		named := make([]repo.Snapshot, 0, len(args))
		for _, a := range args {
			s, err := repo.Find(snaps, a)
			if err != nil {
				return err
			}
			named = append(named, s)
		}
		snaps = named
	}
	done, err := tag.Run(ctx, r, snaps, ch)
	out := make([]replacedJSON, len(done))
	for i, p := range done {
		out[i] = replacedJSON{Old: p.Old.String(), New: p.New.String()}
	}
	if perr := g.print(cmd, out, func() { printTagged(cmd, done, len(snaps)) }); perr != nil {
		return perr
	}
	return err
}

func printTagged(cmd *cobra.Command, done []repo.Replacement, selected int) {
	w := cmd.OutOrStdout()
	for _, p := range done {
		fmt.Fprintf(w, "snapshot %s is now %s\n", p.Old.Short(), p.New.Short())
	}
	fmt.Fprintf(w, "%s changed, %d unchanged\n", count(len(done), "snapshot", "snapshots"), selected-len(done))
}

// splitAll reads repeated tag flags, each of which may hold several tags "a,b".
func splitAll(values []string) []string {
	var out []string
	for _, v := range values {
		out = append(out, splitTags(v)...)
	}
	return out
}
