//go:build !crashpoints

// Package crash names the points where a test may kill cairn at a chosen instant
// (RELIABILITY: "named crash points compiled only under a test build tag"). Built
// without the crashpoints tag, as every release is, Point does nothing.
package crash

// Point marks a place a crash test can stop the process at.
func Point(string) {}
