package index

import (
	"reflect"
	"testing"

	"github.com/cairn-backup/cairn/internal/digest"
	"github.com/cairn-backup/cairn/internal/golden"
)

// The golden files freeze the segment plaintext of doc.go (the repository seals it
// like any object); go test ./internal/index -run Golden -update rewrites them.

func goldenID(s string) digest.ID { return digest.Of([]byte(s)) }

func goldenSegments() map[string]*Segment {
	return map[string]*Segment{
		"segment.hex": {
			Supersedes: []digest.ID{goldenID("old segment 1"), goldenID("old segment 2")},
			Packs: []Pack{
				{ID: goldenID("pack 1"), Size: 200_000, Blobs: []Blob{
					{Type: Data, ID: goldenID("chunk 1"), Offset: 0, Length: 100},
					{Type: Tree, ID: goldenID("node 1"), Offset: 100, Length: 150_000},
					{Type: Data, ID: goldenID("node 1"), Offset: 150_100, Length: 41},
				}},
				{ID: goldenID("pack 2"), Size: MaxOffset + 1, Blobs: []Blob{
					{Type: Data, ID: goldenID("chunk 2"), Offset: MaxOffset, Length: 1},
				}},
				{ID: goldenID("pack 3, empty"), Size: 46},
			},
		},
		"segment-supersedes-only.hex": {Supersedes: []digest.ID{goldenID("old segment 3")}},
	}
}

func TestGoldenSegment(t *testing.T) {
	for file, seg := range goldenSegments() {
		if err := seg.Validate(); err != nil {
			t.Fatalf("%s: %v", file, err)
		}
		golden.Check(t, file, golden.Hex(seg.Encode()))
		got, err := DecodeSegment(golden.ReadHex(t, file))
		if err != nil {
			t.Fatalf("%s: %v", file, err)
		}
		if !reflect.DeepEqual(got, seg) {
			t.Errorf("%s decodes to\n%+v\nwant\n%+v", file, got, seg)
		}
	}
}
