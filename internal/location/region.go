package location

import (
	"crypto/sha256"
	"encoding/hex"
	"os"
	"path/filepath"
	"strings"
)

// The region of an S3 bucket, when no --s3-region gives it, is asked of the server
// before the first request of every run: one round trip, which at a distant bucket
// costs as much as any other. The region learnt is remembered per location in a small
// file, and later runs pass it as if given, so they skip that request. A bucket that
// moves region fails once, with the server's own message, and the region is forgotten
// (forgetRegion) so that the next run asks again.

// regionFile is where the region of location is remembered, in dir.
func regionFile(dir, location string) string {
	sum := sha256.Sum256([]byte(location))
	return filepath.Join(dir, hex.EncodeToString(sum[:16]))
}

// loadRegion returns the region remembered for location, or "".
func loadRegion(dir, location string) string {
	if dir == "" {
		return ""
	}
	b, err := os.ReadFile(regionFile(dir, location))
	if err != nil {
		return ""
	}
	r := strings.TrimSpace(string(b))
	if len(r) > 64 || strings.ContainsAny(r, " /\\") {
		return "" // not written by saveRegion
	}
	return r
}

// saveRegion remembers region for location; failing to only costs the next run the
// request again.
func saveRegion(dir, location, region string) {
	if dir == "" || loadRegion(dir, location) == region {
		return
	}
	path := regionFile(dir, location)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return
	}
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, []byte(region+"\n"), 0o600); err != nil {
		return
	}
	_ = os.Rename(tmp, path)
}

// forgetRegion drops the region remembered for location.
func forgetRegion(dir, location string) {
	if dir != "" {
		_ = os.Remove(regionFile(dir, location))
	}
}
