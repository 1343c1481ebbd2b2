package main

import (
	"encoding/json"

	"github.com/spf13/cobra"
)

// print writes v as JSON under --json, and calls text otherwise.
func (g *globals) print(cmd *cobra.Command, v any, text func()) error {
	if g.json {
		enc := json.NewEncoder(cmd.OutOrStdout())
		return enc.Encode(v)
	}
	text()
	return nil
}
