package index

import (
	"bytes"
	"encoding/hex"
	"errors"
	"reflect"
	"strings"
	"testing"

	"github.com/cairn-backup/cairn/internal/digest"
)

func testID(s string) digest.ID { return digest.Of([]byte(s)) }

// testSegments are valid segments, also the fuzz seeds.
func testSegments() map[string]*Segment {
	return map[string]*Segment{
		"empty":      {},
		"supersedes": {Supersedes: []digest.ID{testID("s1"), testID("s2")}},
		"empty pack": {Packs: []Pack{{ID: testID("p0"), Size: 0}}},
		"two packs": {Packs: []Pack{
			{ID: testID("p1"), Size: 1000, Blobs: []Blob{
				{Type: Data, ID: testID("a"), Offset: 0, Length: 300},
				{Type: Tree, ID: testID("a"), Offset: 300, Length: 700},
			}},
			{ID: testID("p2"), Size: 200, Blobs: []Blob{{Type: Data, ID: testID("b"), Offset: 127, Length: 73}}},
		}, Supersedes: []digest.ID{testID("old")}},
		"limits": {Packs: []Pack{{ID: testID("p3"), Size: 1<<64 - 1, Blobs: []Blob{
			{Type: Tree, ID: testID("c"), Offset: MaxOffset, Length: MaxLength},
			{Type: Data, ID: testID("d"), Offset: 0, Length: 1},
		}}}},
	}
}

func TestSegmentRoundTrip(t *testing.T) {
	for name, s := range testSegments() {
		t.Run(name, func(t *testing.T) {
			if err := s.Validate(); err != nil {
				t.Fatal(err)
			}
			enc := s.Encode()
			if len(enc) != s.encodedSize() {
				t.Errorf("encoded %d bytes, encodedSize says %d", len(enc), s.encodedSize())
			}
			got, err := DecodeSegment(enc)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, s) {
				t.Errorf("decoded %+v, want %+v", got, s)
			}
			if !bytes.Equal(got.Encode(), enc) {
				t.Error("re-encoding differs")
			}
		})
	}
}

// TestSegmentGolden pins the byte format documented in doc.go.
func TestSegmentGolden(t *testing.T) {
	id := func(b byte) digest.ID { return digest.ID{0: b, 31: b} }
	s := &Segment{
		Supersedes: []digest.ID{id(0xee)},
		Packs:      []Pack{{ID: id(0xaa), Size: 300, Blobs: []Blob{{Type: Tree, ID: id(0xbb), Offset: 128, Length: 5}}}},
	}
	z30 := strings.Repeat("00", 30)
	want := "43524e49" + "01" + // magic, version
		"01" + "ee" + z30 + "ee" + // one superseded segment
		"01" + "aa" + z30 + "aa" + "ac02" + "01" + // one pack of 300 bytes, one blob
		"01" + "bb" + z30 + "bb" + "8001" + "05" // tree blob at 128, 5 bytes
	if got := hex.EncodeToString(s.Encode()); got != want {
		t.Errorf("Encode =\n%s\nwant\n%s", got, want)
	}
}

func TestDecodeSegmentRejects(t *testing.T) {
	valid := testSegments()["two packs"].Encode()
	blob := func(typ byte, off, length string) []byte { // one pack of 100 bytes with one blob
		h := "43524e4901" + "00" + "01" + strings.Repeat("11", 32) + "64" + "01" +
			hex.EncodeToString([]byte{typ}) + strings.Repeat("22", 32) + off + length
		b, err := hex.DecodeString(h)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	if _, err := DecodeSegment(blob(0, "0a", "5a")); err != nil {
		t.Fatalf("the base case of the table is rejected: %v", err)
	}
	limits := testSegments()["limits"].Encode()
	for _, tc := range []struct {
		name string
		b    []byte
		want string // in the error message
	}{
		{"nil", nil, "bad magic"},
		{"short magic", []byte("CRN"), "bad magic"},
		{"bad magic", append([]byte("CRNX"), valid[4:]...), "bad magic"},
		{"bad version", append([]byte("CRNI\x02"), valid[5:]...), "unknown version 2"},
		{"no counts", []byte("CRNI\x01"), "supersedes count: truncated"},
		{"no pack count", []byte("CRNI\x01\x00"), "packs count: truncated"},
		{"trailing byte", append(bytes.Clone(valid), 0), "1 bytes after the last pack"},
		{"truncated blob", valid[:len(valid)-1], "pack 1 blobs count 1 cannot fit in 34 bytes"},
		{"truncated blob 1", limits[:len(limits)-1], "pack 0 blob 1: truncated"},
		{"truncated varint", blob(0, "0a", "da"), "pack 0 blob 0 length: truncated"},
		{"truncated pack", valid[:len(valid)-80], "pack 0 blobs count 2 cannot fit in 63 bytes"},
		{"supersedes count too large", []byte("CRNI\x01\x02" + strings.Repeat("x", 63)), "supersedes count 2 cannot fit in 63 bytes"},
		{"pack count too large", []byte("CRNI\x01\x00\x02" + strings.Repeat("x", 67)), "packs count 2 cannot fit"},
		{"huge pack count", []byte("CRNI\x01\x00\xff\xff\xff\xff\xff\xff\xff\xff\x7f"), "cannot fit in 0 bytes"},
		{"overflowing count", []byte("CRNI\x01\x00\xff\xff\xff\xff\xff\xff\xff\xff\xff\x02"), "overflows 64 bits"},
		{"non-minimal count", []byte("CRNI\x01\x80\x00\x00"), "supersedes count: not in shortest form"},
		{"non-minimal size", []byte("CRNI\x01\x00\x01" + strings.Repeat("x", 32) + "\x80\x00\x00"), "pack 0 size: not in shortest form"},
		{"unknown type", blob(2, "0a", "5a"), "unknown blob type 2"},
		{"non-minimal offset", blob(0, "8a00", "5a"), "offset: not in shortest form"},
		{"offset above limit", blob(0, "8080808001", "01"), "offset 268435456 above limit"},
		{"offset above 32 bits", blob(0, "8080808080808001", "01"), "above limit"},
		{"zero length", blob(0, "0a", "00"), "length 0 outside"},
		{"length above limit", blob(0, "00", "80808010"), "length 33554432 outside"},
		{"blob past pack end", blob(0, "0a", "5b"), "blob ends at 101, past pack size 100"},
		{"oversized", make([]byte, MaxSegmentSize+1), "above limit"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, err := DecodeSegment(tc.b)
			if !errors.Is(err, ErrCorrupt) || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("DecodeSegment = %+v, %v; want ErrCorrupt with %q", s, err, tc.want)
			}
		})
	}
}

func TestValidate(t *testing.T) {
	p := func(size uint64, b Blob) *Segment {
		return &Segment{Packs: []Pack{{ID: testID("p"), Size: size, Blobs: []Blob{b}}}}
	}
	for name, s := range map[string]*Segment{
		"type":       p(10, Blob{Type: 2, Length: 1}),
		"offset":     p(1<<30, Blob{Offset: MaxOffset + 1, Length: 1}),
		"length":     p(1<<30, Blob{Length: MaxLength + 1}),
		"zero":       p(10, Blob{}),
		"past end":   p(10, Blob{Offset: 5, Length: 6}),
		"oversized":  {Supersedes: make([]digest.ID, MaxSegmentSize/digest.Size)},
		"first pack": {Packs: []Pack{{Size: 1, Blobs: []Blob{{Length: 2}}}, {}}},
	} {
		if err := s.Validate(); !errors.Is(err, ErrCorrupt) {
			t.Errorf("%s: Validate = %v, want ErrCorrupt", name, err)
		}
		if _, err := DecodeSegment(s.Encode()); !errors.Is(err, ErrCorrupt) {
			t.Errorf("%s: DecodeSegment accepts what Validate refuses: %v", name, err)
		}
	}
}

func FuzzDecodeSegment(f *testing.F) {
	for _, s := range testSegments() {
		enc := s.Encode()
		f.Add(enc)
		f.Add(enc[:len(enc)/2])
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		s, err := DecodeSegment(b)
		if err != nil {
			if !errors.Is(err, ErrCorrupt) {
				t.Fatalf("error %v is not ErrCorrupt", err)
			}
			return
		}
		if err := s.Validate(); err != nil {
			t.Fatalf("decoded segment does not validate: %v", err)
		}
		if !bytes.Equal(s.Encode(), b) {
			t.Fatal("accepted a non-canonical encoding")
		}
		if err := New().AddSegment(s); err != nil && !errors.Is(err, ErrCorrupt) {
			t.Fatalf("AddSegment: %v", err)
		}
	})
}
