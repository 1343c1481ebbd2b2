package manifest

import (
	"bytes"
	"encoding/json"
	"fmt"
	"time"
	"unicode/utf8"

	"github.com/cairn-backup/cairn/internal/digest"
)

// SnapshotVersion is the version of the snapshot record format.
const SnapshotVersion = 1

// MaxSnapshotSize bounds an encoded snapshot record.
const MaxSnapshotSize = 1 << 20

// Snapshot is the record of one backup: what was backed up, where its tree is, and the
// snapshot before it.
type Snapshot struct {
	Version  int           `json:"version"`
	Time     time.Time     `json:"time"`
	Host     string        `json:"host"`
	User     string        `json:"user"`
	Paths    []string      `json:"paths"`
	Tags     []string      `json:"tags,omitempty"`
	Root     digest.ID     `json:"root"`               // Merkle root of the top directory
	Tree     digest.ID     `json:"tree"`               // blob id of the top directory's node
	Parent   *digest.ID    `json:"parent,omitempty"`   // snapshot used for change detection
	Previous *digest.ID    `json:"previous,omitempty"` // previous snapshot of the same host and paths
	Stats    SnapshotStats `json:"stats"`
	Program  string        `json:"program"` // name and version of the writer
}

// SnapshotStats counts what a backup saw and did.
type SnapshotStats struct {
	Files          uint64 `json:"files"`
	Dirs           uint64 `json:"dirs"`
	Bytes          uint64 `json:"bytes"` // total size of the files
	NewFiles       uint64 `json:"new_files"`
	ChangedFiles   uint64 `json:"changed_files"`
	UnchangedFiles uint64 `json:"unchanged_files"`
	BytesRead      uint64 `json:"bytes_read"`
	BytesAdded     uint64 `json:"bytes_added"`  // chunk bytes new to the repository
	BytesStored    uint64 `json:"bytes_stored"` // the same, compressed and sealed
	DurationNS     int64  `json:"duration_ns"`
}

// Encode returns the record as compact JSON with the time in UTC: the one canonical
// form DecodeSnapshot accepts. It refuses (ErrInvalid) strings that are not UTF-8,
// which JSON would silently alter, and another Version than SnapshotVersion.
func (s *Snapshot) Encode() ([]byte, error) {
	if s.Version != SnapshotVersion {
		return nil, fmt.Errorf("encode snapshot: version %d, want %d: %w", s.Version, SnapshotVersion, ErrInvalid)
	}
	strs := append([]string{s.Host, s.User, s.Program}, s.Paths...)
	for _, str := range append(strs, s.Tags...) {
		if !utf8.ValidString(str) {
			return nil, fmt.Errorf("encode snapshot: %q is not UTF-8: %w", str, ErrInvalid)
		}
	}
	c := *s
	c.Time = s.Time.UTC()
	b, err := json.Marshal(&c)
	if err != nil {
		return nil, fmt.Errorf("encode snapshot: %w: %w", err, ErrInvalid)
	}
	if len(b) > MaxSnapshotSize {
		return nil, fmt.Errorf("encode snapshot: %d bytes, above %d: %w", len(b), MaxSnapshotSize, ErrInvalid)
	}
	return b, nil
}

// DecodeSnapshot parses a snapshot record. It accepts only the exact bytes Encode
// writes (no unknown fields, no other spacing, order or escaping), so one snapshot has
// one id. Errors wrap ErrCorrupt.
func DecodeSnapshot(b []byte) (*Snapshot, error) {
	if len(b) > MaxSnapshotSize {
		return nil, fmt.Errorf("decode snapshot: %d bytes, above %d: %w", len(b), MaxSnapshotSize, ErrCorrupt)
	}
	d := json.NewDecoder(bytes.NewReader(b))
	d.DisallowUnknownFields()
	s := &Snapshot{}
	if err := d.Decode(s); err != nil {
		return nil, fmt.Errorf("decode snapshot: %v: %w", err, ErrCorrupt)
	}
	if s.Version != SnapshotVersion {
		return nil, fmt.Errorf("decode snapshot: unknown version %d: %w", s.Version, ErrCorrupt)
	}
	again, err := s.Encode()
	if err != nil || !bytes.Equal(again, b) {
		return nil, fmt.Errorf("decode snapshot: not in canonical form: %w", ErrCorrupt)
	}
	return s, nil
}
