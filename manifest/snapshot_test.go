package manifest

import (
	"bytes"
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"
)

func sampleSnapshot() *Snapshot {
	parent, prev := idOf("parent"), idOf("previous")
	return &Snapshot{
		Version: SnapshotVersion,
		Time:    time.Date(2026, 11, 27, 3, 0, 0, 123456789, time.UTC),
		Host:    "backup-host", User: "root",
		Paths: []string{"/etc", "/home/ann/<docs> & \"more\""}, Tags: []string{"nightly"},
		Root: idOf("root"), Tree: idOf("tree"), Parent: &parent, Previous: &prev,
		Stats: SnapshotStats{Files: 10, Dirs: 2, Bytes: 1 << 40, NewFiles: 1, ChangedFiles: 2,
			UnchangedFiles: 7, BytesRead: 300, BytesAdded: 200, BytesStored: 100, DurationNS: 5e9},
		Program: "cairn 0.1.0",
	}
}

func TestSnapshotRoundTrip(t *testing.T) {
	for _, s := range []*Snapshot{sampleSnapshot(), {Version: 1}} {
		b, err := s.Encode()
		if err != nil {
			t.Fatal(err)
		}
		got, err := DecodeSnapshot(b)
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(got, s) {
			t.Fatalf("round trip:\n got %+v\nwant %+v", got, s)
		}
	}
}

func TestSnapshotTimeInUTC(t *testing.T) {
	s := sampleSnapshot()
	s.Time = s.Time.In(time.FixedZone("X", 3600))
	b, err := s.Encode()
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(b, []byte(`"time":"2026-11-27T03:00:00.123456789Z"`)) {
		t.Fatalf("time not in UTC: %s", b)
	}
	got, err := DecodeSnapshot(b)
	if err != nil || !got.Time.Equal(s.Time) {
		t.Fatalf("decoded %v, %v", got, err)
	}
}

func TestSnapshotEncodeRefuses(t *testing.T) {
	for name, edit := range map[string]func(s *Snapshot){
		"version 0":      func(s *Snapshot) { s.Version = 0 },
		"version 2":      func(s *Snapshot) { s.Version = 2 },
		"non-UTF-8 path": func(s *Snapshot) { s.Paths = []string{"/home/\xff"} },
		"non-UTF-8 host": func(s *Snapshot) { s.Host = "\xfe" },
		"non-UTF-8 tag":  func(s *Snapshot) { s.Tags = []string{"\xfe"} },
		"year 10000":     func(s *Snapshot) { s.Time = time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC) },
		"too large":      func(s *Snapshot) { s.Paths = []string{strings.Repeat("p", MaxSnapshotSize)} },
	} {
		s := sampleSnapshot()
		edit(s)
		if _, err := s.Encode(); !errors.Is(err, ErrInvalid) {
			t.Errorf("%s: %v, want ErrInvalid", name, err)
		}
	}
}

func TestDecodeSnapshotRejects(t *testing.T) {
	good, err := sampleSnapshot().Encode()
	if err != nil {
		t.Fatal(err)
	}
	replace := func(old, new string) []byte {
		if !bytes.Contains(good, []byte(old)) {
			t.Fatalf("%q not in %s", old, good)
		}
		return bytes.Replace(good, []byte(old), []byte(new), 1)
	}
	for name, b := range map[string][]byte{
		"empty":          nil,
		"not JSON":       []byte("{"),
		"null":           []byte("null"),
		"array":          []byte("[]"),
		"version 2":      replace(`"version":1`, `"version":2`),
		"version 0":      replace(`"version":1`, `"version":0`),
		"unknown field":  replace(`"version":1`, `"version":1,"extra":1`),
		"spaces":         replace(`"version":1`, `"version": 1`),
		"trailing":       append(bytes.Clone(good), '\n'),
		"second value":   append(bytes.Clone(good), good...),
		"field order":    replace(`"version":1,"time"`, `"time"`),
		"other zone":     replace(`.123456789Z"`, `.123456789+00:00"`),
		"bad id":         replace(`"root":"`, `"root":"x`),
		"upper-case id":  bytes.ToUpper(good),
		"null parent":    replace(`"parent":"`, `"parent":null,"x":"`),
		"escaped slash":  replace(`"/etc"`, `"\/etc"`),
		"unescaped html": replace(`\u003cdocs\u003e`, `<docs>`),
		"duplicate key":  replace(`"version":1`, `"version":1,"version":1`),
		"too large":      append(bytes.Clone(good), make([]byte, MaxSnapshotSize)...),
	} {
		if _, err := DecodeSnapshot(b); !errors.Is(err, ErrCorrupt) {
			t.Errorf("%s: %v, want ErrCorrupt", name, err)
		}
	}
}
