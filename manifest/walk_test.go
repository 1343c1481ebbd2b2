package manifest

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"testing"

	"github.com/cairn-backup/cairn/internal/digest"
)

// fx describes a directory for tests: a string value is a file with that content, an
// fx a subdirectory, a link a symlink.
type fx map[string]any

type link string

// build stores the tree and returns its Merkle root and blob id.
func build(t testing.TB, s BlobSaver, dir fx) (root, blob digest.ID) {
	t.Helper()
	var es []Entry
	for _, name := range slices.Sorted(maps.Keys(dir)) {
		var e Entry
		switch v := dir[name].(type) {
		case string:
			e = fileEntry(name, 0)
			if v != "" {
				e = fileEntry(name, uint32(len(v)))
				e.Chunks[0].ID = idOf(v)
				e.Content = ContentRoot(e.Chunks)
			}
		case fx:
			e = Entry{Name: name, Type: Dir, Mode: 0o755}
			e.Content, e.Subtree = build(t, s, v)
		case link:
			e = Entry{Name: name, Type: Symlink, Mode: 0o777, Target: string(v)}
		}
		es = append(es, e)
	}
	root, blob, err := WriteDir(context.Background(), s, es)
	if err != nil {
		t.Fatal(err)
	}
	return root, blob
}

// deepTree has depth levels of fan directories, each with files.
func deepTree(depth, fan int, salt string) fx {
	d := fx{}
	for i := range 3 {
		d[fmt.Sprintf("f%d", i)] = fmt.Sprint(salt, "content ", i)
	}
	if depth > 0 {
		for i := range fan {
			d[fmt.Sprintf("d%d", i)] = deepTree(depth-1, fan, fmt.Sprint(salt, i))
		}
	}
	return d
}

func walkPaths(t *testing.T, s *memStore, root, blob digest.ID, skip string) []string {
	t.Helper()
	var got []string
	err := Walk(t.Context(), s, blob, root, func(p string, e *Entry) error {
		got = append(got, p+" "+e.Type.String())
		if p == skip {
			return SkipDir
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return got
}

func TestWalk(t *testing.T) {
	s := newMemStore()
	root, blob := build(t, s, fx{"b": fx{"y": "1", "x": fx{"deep": "2"}}, "a": "3", "c": link("b/y"), "b.txt": ""})
	want := "a file|b dir|b/x dir|b/x/deep file|b/y file|b.txt file|c symlink"
	if got := strings.Join(walkPaths(t, s, root, blob, ""), "|"); got != want {
		t.Errorf("walk:\n got %s\nwant %s", got, want)
	}
	if got := strings.Join(walkPaths(t, s, root, blob, "b/x"), "|"); got != strings.Replace(want, "|b/x/deep file", "", 1) {
		t.Errorf("walk skipping b/x: %s", got)
	}
	if got := walkPaths(t, s, digest.ID{}, digest.ID{}, ""); len(got) != 0 {
		t.Errorf("zero tree: %v", got)
	}
	stop := errors.New("stop")
	err := Walk(t.Context(), s, blob, root, func(p string, e *Entry) error {
		if p == "b/x/deep" {
			return stop
		}
		return nil
	})
	if err != stop {
		t.Errorf("error from fn: %v, want it returned as is", err)
	}
}

func TestWalkChecksRoots(t *testing.T) {
	s := newMemStore()
	_, other := build(t, s, fx{"evil": "x"})
	es := []Entry{{Name: "d", Type: Dir, Content: idOf("claimed root"), Subtree: other}}
	root, blob, err := WriteDir(t.Context(), s, es)
	if err != nil {
		t.Fatal(err)
	}
	err = Walk(t.Context(), s, blob, root, func(string, *Entry) error { return nil })
	if !errors.Is(err, ErrCorrupt) || !strings.Contains(err.Error(), `directory "d"`) {
		t.Fatalf("subtree with another root: %v", err)
	}
	if err := Walk(t.Context(), s, blob, idOf("x"), func(string, *Entry) error { return nil }); !errors.Is(err, ErrCorrupt) {
		t.Fatalf("wrong top root: %v", err)
	}
}

// TestWalkDepthLimit: a chain deeper than MaxDepth is refused, not followed.
func TestWalkDepthLimit(t *testing.T) {
	s := newMemStore()
	root, blob, err := WriteDir(t.Context(), s, nil)
	if err != nil {
		t.Fatal(err)
	}
	for range MaxDepth + 2 {
		root, blob, err = WriteDir(t.Context(), s, []Entry{{Name: "d", Type: Dir, Content: root, Subtree: blob}})
		if err != nil {
			t.Fatal(err)
		}
	}
	err = Walk(t.Context(), s, blob, root, func(string, *Entry) error { return nil })
	if !errors.Is(err, ErrCorrupt) {
		t.Fatalf("walk of %d levels: %v", MaxDepth+2, err)
	}
}

func TestWalkCancelled(t *testing.T) {
	s := newMemStore()
	root, blob := build(t, s, deepTree(2, 3, ""))
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if err := Walk(ctx, s, blob, root, func(string, *Entry) error { return nil }); !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled walk: %v", err)
	}
}
