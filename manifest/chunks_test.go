package manifest

import (
	"errors"
	"fmt"
	"reflect"
	"slices"
	"testing"

	"github.com/cairn-backup/cairn/internal/digest"
)

func testChunks(n int, salt string) []Chunk {
	cs := make([]Chunk, n)
	for i := range cs {
		cs[i] = Chunk{ID: idOf(fmt.Sprint(salt, i)), Size: uint32(i%7000 + 1)}
	}
	return cs
}

func sizeOf(cs []Chunk) (n uint64) {
	for _, c := range cs {
		n += uint64(c.Size)
	}
	return n
}

func TestWriteReadChunks(t *testing.T) {
	for _, n := range []int{0, 1, 16, 17, 10_000} {
		s := newMemStore()
		cs := testChunks(n, "")
		e := &Entry{Name: "f", Type: File, Size: sizeOf(cs)}
		if err := WriteChunks(t.Context(), s, e, cs); err != nil {
			t.Fatal(err)
		}
		if e.Content != ContentRoot(cs) || (n <= InlineChunks) != (len(e.Lists) == 0) {
			t.Fatalf("n=%d: content %s, %d inline, %d lists", n, e.Content, len(e.Chunks), len(e.Lists))
		}
		if p := e.problem(); p != "" {
			t.Fatalf("n=%d: entry breaks the format: %s", n, p)
		}
		got, err := ReadChunks(t.Context(), s, e)
		if err != nil {
			t.Fatalf("n=%d: %v", n, err)
		}
		if len(got) != n || (n > 0 && !reflect.DeepEqual(got, cs)) {
			t.Fatalf("n=%d: read back %d chunks", n, len(got))
		}
		if n == 10_000 && len(e.Lists) < 10 {
			t.Fatalf("%d chunks in %d lists", n, len(e.Lists))
		}
	}
}

func TestWriteChunksRefuses(t *testing.T) {
	cs := testChunks(3, "")
	for name, c := range map[string]struct {
		e      Entry
		chunks []Chunk
	}{
		"not a file":  {Entry{Type: Dir}, nil},
		"wrong size":  {Entry{Type: File, Size: sizeOf(cs) + 1}, cs},
		"empty chunk": {Entry{Type: File, Size: 1}, []Chunk{{Size: 1}, {}}},
	} {
		if err := WriteChunks(t.Context(), newMemStore(), &c.e, c.chunks); !errors.Is(err, ErrInvalid) {
			t.Errorf("%s: %v, want ErrInvalid", name, err)
		}
	}
}

func TestWriteChunksFullListNodes(t *testing.T) {
	// Ids whose last byte never cuts: only the MaxListChunks bound splits.
	cs := make([]Chunk, 3*MaxListChunks+5)
	for i := range cs {
		cs[i] = Chunk{ID: digest.ID{0: byte(i), 1: byte(i >> 8), 31: 1}, Size: 1}
	}
	s := newMemStore()
	e := &Entry{Type: File, Size: uint64(len(cs))}
	if err := WriteChunks(t.Context(), s, e, cs); err != nil {
		t.Fatal(err)
	}
	if len(e.Lists) != 4 {
		t.Fatalf("%d list nodes, want 4", len(e.Lists))
	}
	if got, err := ReadChunks(t.Context(), s, e); err != nil || len(got) != len(cs) {
		t.Fatal(err)
	}
}

func TestWriteChunksRewritesFewLists(t *testing.T) {
	s := newMemStore()
	cs := testChunks(10_000, "")
	e := &Entry{Type: File, Size: sizeOf(cs)}
	if err := WriteChunks(t.Context(), s, e, cs); err != nil {
		t.Fatal(err)
	}
	s.resetCounts()
	more := slices.Insert(slices.Clone(cs), 5000, Chunk{ID: idOf("inserted"), Size: 99})
	e2 := &Entry{Type: File, Size: sizeOf(more)}
	if err := WriteChunks(t.Context(), s, e2, more); err != nil {
		t.Fatal(err)
	}
	if _, added := s.counts(); added > 2 {
		t.Fatalf("an insertion wrote %d list nodes, want at most 2", added)
	}
	if d := len(e2.Lists) - len(e.Lists); d < 0 || d > 1 {
		t.Fatalf("%d lists, then %d", len(e.Lists), len(e2.Lists))
	}
}

func TestReadChunksRejects(t *testing.T) {
	s := newMemStore()
	cs := testChunks(1000, "")
	good := Entry{Name: "f", Type: File, Size: sizeOf(cs)}
	if err := WriteChunks(t.Context(), s, &good, cs); err != nil {
		t.Fatal(err)
	}
	tamper := func(f func([]Chunk) []Chunk) digest.ID {
		l, _ := DecodeChunkList(s.blobs[good.Lists[0]])
		id, _ := s.SaveTree(t.Context(), encodeChunkList(f(l)))
		return id
	}
	inline := fileEntry("inline", 10)
	for name, edit := range map[string]func(e *Entry){
		"wrong size in a list": func(e *Entry) { e.Lists[0] = tamper(func(l []Chunk) []Chunk { l[0].Size++; return l }) },
		"wrong id in a list":   func(e *Entry) { e.Lists[0] = tamper(func(l []Chunk) []Chunk { l[0].ID[0]++; return l }) },
		"chunk left out":       func(e *Entry) { e.Lists[0] = tamper(func(l []Chunk) []Chunk { return l[1:] }) },
		"lists swapped":        func(e *Entry) { e.Lists[0], e.Lists[1] = e.Lists[1], e.Lists[0] },
		"list repeated":        func(e *Entry) { e.Lists[1] = e.Lists[0] },
		"list missing":         func(e *Entry) { e.Lists = e.Lists[1:] },
		"list absent":          func(e *Entry) { e.Lists[0] = idOf("absent") },
		"not a list":           func(e *Entry) { e.Lists[0], _ = s.SaveTree(t.Context(), EncodeUnchecked(nil)) },
		"size too large":       func(e *Entry) { e.Size++ },
		"size too small":       func(e *Entry) { e.Size-- },
		"wrong content":        func(e *Entry) { e.Content[0]++ },
		"inline wrong id":      func(e *Entry) { *e = inline; e.Chunks = []Chunk{{ID: idOf("x"), Size: 10}} },
		"inline wrong size":    func(e *Entry) { *e = inline; e.Chunks = []Chunk{{ID: inline.Chunks[0].ID, Size: 9}} },
		"both":                 func(e *Entry) { e.Chunks = cs[:1] },
	} {
		e := good
		e.Lists = slices.Clone(good.Lists)
		edit(&e)
		if _, err := ReadChunks(t.Context(), s, &e); !errors.Is(err, ErrCorrupt) && !errors.Is(err, errNotFound) {
			t.Errorf("%s: %v, want an error", name, err)
		}
	}
}
