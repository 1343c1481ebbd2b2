package main

import (
	"fmt"
	"io"

	"github.com/cairn-backup/cairn/internal/repo"
)

// warnIndexDamage says which index segments (and pack headers) the index load had to
// skip: the command went on without them, and `cairn repair index` rebuilds them.
func warnIndexDamage(w io.Writer, r *repo.Repo) {
	for _, err := range r.IndexDamage() {
		fmt.Fprintf(w, "cairn: %v; run 'cairn repair index'\n", err)
	}
}
