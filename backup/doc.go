// Package backup is the home of cairn's engines, one sub-package each, side by side:
// archive (the backup itself), restore, verify, and the retention engines to come. An
// engine takes an open repository and options and does one job; engines never import
// each other or a storage backend (scripts/check-deps enforces it), so each can be read
// and tested alone. This package itself holds no code.
package backup
