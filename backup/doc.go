// Package backup is the home of cairn's engines, one sub-package each, side by side:
// archive (the backup itself), restore, verify, and the retention engines to come. An
// engine takes an open repository and options and does one job; engines never import
// each other or a storage backend (scripts/check-deps enforces it), so each can be read
// and tested alone. Each keeps the state of one job in an unexported type named run.
// They share one contract for partial failure: a job that finished but could not do
// all of it (unreadable source files, entries not restored, live files not compared)
// returns its result together with an error wrapping the engine's ErrPartial, and
// names every miss in the result (what verify finds in the repository itself has its
// own errors, ErrDamage and ErrIncomplete). This package itself holds no code.
package backup
