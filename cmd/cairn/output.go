package main

import (
	"encoding/json"
	"strconv"

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

// count writes n and the noun, in the plural unless n is 1: "1 snapshot", "3 packs".
func count(n int, singular, plural string) string {
	if n == 1 {
		return "1 " + singular
	}
	return strconv.Itoa(n) + " " + plural
}
