// Package digest defines the SHA-256 identifier every object, blob and manifest node
// is named by. It is the one leaf every other cairn package may import.
package digest

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
)

// Size is the length of an ID in bytes.
const Size = sha256.Size

// ID is a SHA-256 digest, used by value.
type ID [Size]byte

// ErrInvalid reports a string that is not a hex-encoded ID.
var ErrInvalid = errors.New("invalid id")

// Of returns the SHA-256 of data.
func Of(data []byte) ID { return sha256.Sum256(data) }

// Parse decodes a 64-character lower-case hex string.
func Parse(s string) (ID, error) {
	var id ID
	if len(s) != 2*Size {
		return id, fmt.Errorf("%w: %q has %d characters, want %d", ErrInvalid, clip(s), len(s), 2*Size)
	}
	if _, err := hex.Decode(id[:], []byte(s)); err != nil {
		return id, fmt.Errorf("%w: %q: %v", ErrInvalid, clip(s), err)
	}
	if hex.EncodeToString(id[:]) != s {
		return id, fmt.Errorf("%w: %q is not lower-case hex", ErrInvalid, clip(s))
	}
	return id, nil
}

// String returns the lower-case hex form, the object name in the repository.
func (id ID) String() string { return hex.EncodeToString(id[:]) }

// Short returns the first 8 hex characters, for display.
func (id ID) Short() string { return hex.EncodeToString(id[:4]) }

// IsZero reports whether id is the zero value.
func (id ID) IsZero() bool { return id == ID{} }

func clip(s string) string {
	if len(s) > 80 {
		return s[:80] + "…"
	}
	return s
}

// MarshalText encodes the ID as hex in JSON and other text formats.
func (id ID) MarshalText() ([]byte, error) { return []byte(id.String()), nil }

// UnmarshalText parses hex.
func (id *ID) UnmarshalText(b []byte) error {
	v, err := Parse(string(b))
	if err != nil {
		return err
	}
	*id = v
	return nil
}
