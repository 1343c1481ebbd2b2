package manifest

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/cairn-backup/cairn/internal/digest"
)

type tree struct{ root, blob digest.ID }

func buildTree(t *testing.T, s *memStore, d fx) tree {
	root, blob := build(t, s, d)
	return tree{root, blob}
}

// diffOf returns the changes as "kind path" lines and the number of loads.
func diffOf(t *testing.T, s *memStore, a, b tree, skip string) ([]string, int) {
	t.Helper()
	s.resetCounts()
	var got []string
	err := Diff(t.Context(), s, a.blob, a.root, b.blob, b.root, func(c Change) error {
		if (c.Old == nil) != (c.Kind == Added) || (c.New == nil) != (c.Kind == Removed) {
			t.Fatalf("%v %s: old %v, new %v", c.Kind, c.Path, c.Old, c.New)
		}
		got = append(got, c.Kind.String()+" "+c.Path)
		if c.Path == skip {
			return SkipDir
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	loads, _ := s.counts()
	return got, loads
}

func TestDiff(t *testing.T) {
	base := fx{"a": "1", "d": fx{"x": "2", "sub": fx{"y": "3"}}, "f": "4", "l": link("a")}
	cases := []struct {
		name  string
		edit  func(d fx)
		want  string
		loads int
	}{
		{"same", func(d fx) {}, "", 0},
		{"file changed", func(d fx) { d["f"] = "5" }, "modified f", 2},
		{"deep file", func(d fx) { d["d"].(fx)["sub"].(fx)["y"] = "9" },
			"modified d|modified d/sub|modified d/sub/y", 6},
		{"added file", func(d fx) { d["b"] = "" }, "added b", 2},
		{"removed dir", func(d fx) { delete(d, "d") }, "removed d|removed d/sub|removed d/sub/y|removed d/x", 4},
		{"added dir", func(d fx) { d["e"] = fx{"z": "1"} }, "added e|added e/z", 3},
		{"file to dir", func(d fx) { d["f"] = fx{"in": "1"} }, "removed f|added f|added f/in", 3},
		{"dir to file", func(d fx) { d["d"] = "now a file" },
			"removed d|removed d/sub|removed d/sub/y|removed d/x|added d", 4},
		{"symlink target", func(d fx) { d["l"] = link("f") }, "modified l", 2},
		{"symlink to file", func(d fx) { d["l"] = "1" }, "removed l|added l", 2},
	}
	for _, c := range cases {
		s := newMemStore()
		old := buildTree(t, s, base)
		d := clone(base)
		c.edit(d)
		got, loads := diffOf(t, s, old, buildTree(t, s, d), "")
		if g := strings.Join(got, "|"); g != c.want || loads != c.loads {
			t.Errorf("%s:\n got %q (%d loads)\nwant %q (%d loads)", c.name, g, loads, c.want, c.loads)
		}
	}
}

func clone(d fx) fx {
	c := fx{}
	for k, v := range d {
		if sub, ok := v.(fx); ok {
			v = clone(sub)
		}
		c[k] = v
	}
	return c
}

func TestDiffZeroTrees(t *testing.T) {
	s := newMemStore()
	tr := buildTree(t, s, fx{"a": "1", "d": fx{"x": "2"}})
	added, _ := diffOf(t, s, tree{}, tr, "")
	removed, _ := diffOf(t, s, tr, tree{}, "")
	none, loads := diffOf(t, s, tree{}, tree{}, "")
	if strings.Join(added, "|") != "added a|added d|added d/x" ||
		strings.Join(removed, "|") != "removed a|removed d|removed d/x" || len(none) != 0 || loads != 0 {
		t.Fatalf("added %v, removed %v, none %v", added, removed, none)
	}
}

func TestDiffSkipDir(t *testing.T) {
	s := newMemStore()
	a := buildTree(t, s, fx{"d": fx{"x": "1"}, "e": fx{"y": "1"}})
	b := buildTree(t, s, fx{"d": fx{"x": "2"}, "f": fx{"z": "1"}})
	for skip, want := range map[string]string{
		"d": "modified d|removed e|removed e/y|added f|added f/z",
		"e": "modified d|modified d/x|removed e|added f|added f/z",
		"f": "modified d|modified d/x|removed e|removed e/y|added f",
	} {
		if got, _ := diffOf(t, s, a, b, skip); strings.Join(got, "|") != want {
			t.Errorf("skipping %s: %v", skip, got)
		}
	}
}

// TestDiffLoadsOnlyThePath: in a tree of 1555 directories, one changed file deep down
// costs the nodes on its path and nothing else, and the same tree from another place
// (other inodes and ctimes, so other blobs) costs nothing.
func TestDiffLoadsOnlyThePath(t *testing.T) {
	s := newMemStore()
	base := deepTree(4, 6, "")
	old := buildTree(t, s, base)
	d := clone(base)
	d["d3"].(fx)["d1"].(fx)["d4"].(fx)["d0"].(fx)["f2"] = "changed"
	got, loads := diffOf(t, s, old, buildTree(t, s, d), "")
	want := "modified d3|modified d3/d1|modified d3/d1/d4|modified d3/d1/d4/d0|modified d3/d1/d4/d0/f2"
	if strings.Join(got, "|") != want || loads != 10 {
		t.Errorf("got %v with %d loads, want %s with 10", got, loads, want)
	}

	moved := tree{old.root, reinode(t, s, old.blob)}
	if moved.blob == old.blob {
		t.Fatal("the moved tree has the same blob")
	}
	if got, loads := diffOf(t, s, old, moved, ""); len(got) != 0 || loads != 0 {
		t.Errorf("same content elsewhere: %v with %d loads", got, loads)
	}
}

// reinode rewrites the top node with other inodes: same Merkle root, another blob.
func reinode(t *testing.T, s *memStore, blob digest.ID) digest.ID {
	n, err := ReadDir(t.Context(), s, blob, digest.ID{})
	if err != nil {
		t.Fatal(err)
	}
	for i := range n.Entries {
		n.Entries[i].Inode += 1000
	}
	_, b, err := WriteDir(t.Context(), s, n.Entries)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestDiffHugeDirectoryReadsFewPieces(t *testing.T) {
	s := newMemStore()
	es := manyEntries(200_000)
	oldRoot, oldBlob, err := WriteDir(t.Context(), s, es)
	if err != nil {
		t.Fatal(err)
	}
	changed := slices.Clone(es)
	changed[123_456].MTime++
	changed = slices.Insert(changed, 7, fileEntry("file-0000013", 1))
	newRoot, newBlob, err := WriteDir(t.Context(), s, changed)
	if err != nil {
		t.Fatal(err)
	}
	got, loads := diffOf(t, s, tree{oldRoot, oldBlob}, tree{newRoot, newBlob}, "")
	if want := "added file-0000013|modified file-0246912"; strings.Join(got, "|") != want {
		t.Errorf("got %v, want %s", got, want)
	}
	// Two pieces nodes and at most two pieces per side per change.
	if loads > 2+2*4 {
		t.Errorf("%d loads", loads)
	}
	t.Logf("%d loads", loads)
}

func TestDiffErrors(t *testing.T) {
	s := newMemStore()
	a := buildTree(t, s, fx{"d": fx{"x": "1"}})
	b := buildTree(t, s, fx{"d": fx{"x": "2"}})
	stop := errors.New("stop")
	if err := Diff(t.Context(), s, a.blob, a.root, b.blob, b.root, func(Change) error { return stop }); err != stop {
		t.Errorf("fn error: %v", err)
	}
	err := Diff(t.Context(), s, a.blob, a.root, idOf("absent"), idOf("r"), func(Change) error { return nil })
	if !errors.Is(err, errNotFound) {
		t.Errorf("absent tree: %v", err)
	}
	if err := Diff(t.Context(), s, a.blob, a.root, b.blob, idOf("r"), func(Change) error { return nil }); !errors.Is(err, ErrCorrupt) {
		t.Errorf("wrong root: %v", err)
	}
}

func TestChangeKindString(t *testing.T) {
	if got := fmt.Sprint(Added, Removed, Modified, ChangeKind(9)); got != "added removed modified change(9)" {
		t.Error(got)
	}
	if got := fmt.Sprint(File, Dir, Symlink, FIFO, Socket, CharDev, BlockDev, Type(0)); got != "file dir symlink fifo socket chardev blockdev type(0)" {
		t.Error(got)
	}
}

func TestMetadataChanged(t *testing.T) {
	a := Entry{Name: "d", Type: Dir, Mode: 0o755, Content: digest.Of([]byte("a"))}
	b := a
	b.Content = digest.Of([]byte("b"))
	if (Change{Kind: Modified, Old: &a, New: &b}).MetadataChanged() {
		t.Fatal("a content-only change reported as a metadata change")
	}
	b.Mode = 0o700
	if !(Change{Kind: Modified, Old: &a, New: &b}).MetadataChanged() {
		t.Fatal("a mode change not reported")
	}
}
