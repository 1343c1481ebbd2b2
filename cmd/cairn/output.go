package main

import (
	"encoding/json"
	"fmt"
	"os"
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

// warn reports a problem that does not end the command (a file that could not be
// read) on stderr: "cairn: what: item: err", or under --json restic's error message.
func (g *globals) warn(what, item string, err error) {
	if g.json {
		_ = json.NewEncoder(os.Stderr).Encode(map[string]any{"message_type": "error",
			"error": map[string]string{"message": err.Error()}, "during": what, "item": item})
		return
	}
	fmt.Fprintf(os.Stderr, "cairn: %s: %s: %v\n", what, item, err)
}
