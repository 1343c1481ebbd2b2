package main

import (
	"context"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/cairn-backup/cairn/internal/repo"
	"github.com/spf13/cobra"
)

// Shell completion (cobra's "completion" command): snapshot ids and "latest" where a
// command takes a snapshot, and the values of enum flags.

// snapshotArgs are the commands whose arguments are snapshots, and how many of them
// (-1: any number).
var snapshotArgs = map[string]int{
	"cairn restore": 1, "cairn ls": 1, "cairn diff": 2, "cairn proof": 1,
	"cairn tag": -1, "cairn forget": -1, "cairn verify": 1,
}

// enumFlags are the flags that take one of a few words.
var enumFlags = map[string][]string{
	"compression": {"off", "fastest", "default", "max"},
	"overwrite":   {"if-changed", "always", "never"},
	"sparse":      {"auto", "always", "never"},
	"group-by":    {"host", "paths", "tags", "host,paths", "host,tags", "paths,tags", "host,paths,tags"},
}

// registerCompletions wires the completions into the command tree under root.
func registerCompletions(root *cobra.Command, g *globals) {
	var walk func(c *cobra.Command)
	walk = func(c *cobra.Command) {
		if n, ok := snapshotArgs[c.CommandPath()]; ok && c.ValidArgsFunction == nil {
			c.ValidArgsFunction = g.completeSnapshots(n)
		}
		for name, values := range enumFlags {
			if c.LocalNonPersistentFlags().Lookup(name) != nil || (c == root && c.PersistentFlags().Lookup(name) != nil) {
				_ = c.RegisterFlagCompletionFunc(name, cobra.FixedCompletions(values, cobra.ShellCompDirectiveNoFileComp))
			}
		}
		if c.Flags().Lookup("parent") != nil && c.Name() == "backup" {
			_ = c.RegisterFlagCompletionFunc("parent", g.completeSnapshots(-1))
		}
		for _, sub := range c.Commands() {
			walk(sub)
		}
	}
	walk(root)
}

// completeSnapshots offers "latest" and the snapshot ids of the repository the flags
// and environment name, for the first n arguments (n < 0: all). Nothing is asked and
// nothing printed: without a password at hand, or on any failure, it offers nothing.
func (g *globals) completeSnapshots(n int) cobra.CompletionFunc {
	return func(cmd *cobra.Command, args []string, toComplete string) ([]cobra.Completion, cobra.ShellCompDirective) {
		if n >= 0 && len(args) >= n {
			return nil, cobra.ShellCompDirectiveNoFileComp
		}
		snaps, err := g.snapshotsQuietly(cmd.Context())
		if err != nil {
			return nil, cobra.ShellCompDirectiveNoFileComp
		}
		out := []cobra.Completion{"latest\tthe newest snapshot"}
		for i := len(snaps) - 1; i >= 0; i-- {
			s := snaps[i]
			out = append(out, cobra.CompletionWithDesc(s.ID.Short(),
				fmt.Sprintf("%s %s %s", s.Time.Local().Format(time.DateTime), s.Host, strings.Join(s.Paths, ","))))
		}
		return out, cobra.ShellCompDirectiveNoFileComp
	}
}

// completionTimeout bounds the wait for a slow or unreachable repository at a prompt.
const completionTimeout = 10 * time.Second

// snapshotsQuietly lists the snapshots without prompting, retrying or printing.
func (g *globals) snapshotsQuietly(ctx context.Context) ([]repo.Snapshot, error) {
	if ctx == nil {
		ctx = context.Background()
	}
	ctx, cancel := context.WithTimeout(ctx, completionTimeout)
	defer cancel()
	pw, ok, err := g.passwordFromSource()
	if !ok {
		env, set := os.LookupEnv("CAIRN_PASSWORD")
		pw, ok, err = []byte(env), set && env != "", nil
	}
	if !ok || err != nil {
		return nil, fmt.Errorf("no password at hand: %w", err)
	}
	g.retryBudget = 0
	st, err := g.store(ctx, false)
	if err != nil {
		return nil, err
	}
	r, err := g.openWith(ctx, st, pw)
	if err != nil {
		return nil, err
	}
	defer r.Close()
	snaps, _, err := r.LoadSnapshots(ctx)
	return snaps, err
}
