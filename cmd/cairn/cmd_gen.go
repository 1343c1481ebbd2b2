package main

import (
	"fmt"
	"os"

	"github.com/spf13/cobra"
	"github.com/spf13/cobra/doc"
)

func newGenCmd() *cobra.Command {
	gen := &cobra.Command{
		Use:   "gen",
		Short: "Generate man pages (shell completion: see 'cairn completion')",
		Example: `  cairn gen man /usr/local/share/man/man1
  cairn gen man ./man && man ./man/cairn-backup.1`,
	}
	gen.AddCommand(&cobra.Command{
		Use:   "man DIR",
		Short: "Write a man page for every command into DIR",
		Example: `  cairn gen man /usr/local/share/man/man1
  cairn gen man ./man && man ./man/cairn-backup.1`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			dir := args[0]
			if err := os.MkdirAll(dir, 0o755); err != nil {
				return fmt.Errorf("man pages: %w", err)
			}
			header := &doc.GenManHeader{Title: "CAIRN", Section: "1", Source: "cairn " + version}
			if err := doc.GenManTree(cmd.Root(), header, dir); err != nil {
				return fmt.Errorf("man pages: %w", err)
			}
			fmt.Fprintf(cmd.OutOrStdout(), "man pages written to %s\n", dir)
			return nil
		},
	})
	return gen
}
