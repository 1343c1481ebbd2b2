package main

import (
	"fmt"
	"runtime"
	"runtime/debug"

	"github.com/cairn-backup/cairn/internal/repo"
	"github.com/spf13/cobra"
)

// version is set at build time with -ldflags "-X main.version=…".
var version = "dev"

func newVersionCmd(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:   "version",
		Short: "Print the version of cairn",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			v := version
			if info, ok := debug.ReadBuildInfo(); ok && v == "dev" && info.Main.Version != "" && info.Main.Version != "(devel)" {
				v = info.Main.Version
			}
			info := map[string]any{"message_type": "version", "version": v, "repository_format": repo.FormatVersion,
				"go_version": runtime.Version(), "go_os": runtime.GOOS, "go_arch": runtime.GOARCH}
			return g.print(cmd, info, func() {
				fmt.Fprintf(cmd.OutOrStdout(), "cairn %s (repository format %d) %s %s/%s\n",
					v, repo.FormatVersion, runtime.Version(), runtime.GOOS, runtime.GOARCH)
			})
		},
	}
}
