// Package battery is cairn's fault battery: it builds the cairn binary once and runs
// it, as a table of rows with an exact expectation each (exit code, message, what
// restores byte for byte, verify's verdict), through the faults a backup tool meets:
// SIGKILL of backup, restore and prune at seeded moments, a full disk, every kind of
// repository object truncated, emptied or replaced, a deleted pack, overlapping
// backups, and S3 faults through a fault proxy on every verb. docs/reliability.md
// lists the rows.
//
// The short tier runs in `go test ./...`; the long tier (more kills, minutes of S3
// faults) runs with CAIRN_SOAK=1, as `make soak` does. Seeds are printed and set with
// CAIRN_BATTERY_SEED. The package has tests only.
package battery
