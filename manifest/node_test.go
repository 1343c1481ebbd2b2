package manifest

import (
	"bytes"
	"errors"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/cairn-backup/cairn/internal/digest"
)

func sortedByName(es []Entry) []Entry {
	slices.SortFunc(es, func(a, b Entry) int { return strings.Compare(a.Name, b.Name) })
	return es
}

func roundTripEntries() []Entry {
	es := sampleEntries()
	big := fileEntry("big xattrs", 10)
	for i := range 3 {
		big.Xattrs = append(big.Xattrs, Xattr{Name: "user." + string(rune('a'+i)), Value: bytes.Repeat([]byte{byte(i)}, MaxXattrValue)})
	}
	long := Entry{Name: strings.Repeat("L", MaxNameLen), Type: Symlink, Target: strings.Repeat("t", MaxTargetLen)}
	many := Entry{Name: "many xattrs", Type: FIFO}
	for i := range MaxXattrs {
		many.Xattrs = append(many.Xattrs, Xattr{Name: string(rune(0x100 + i))})
	}
	es = append(es,
		fileEntry("\xff\xfe not utf-8", 1),
		fileEntry("new\nline", 2),
		fileEntry(strings.Repeat("n", 255), 3),
		fileEntry("-leading-dash", 4),
		fileEntry("empty", 0),
		Entry{Name: "négatif", Type: Dir, MTime: -1 << 62, CTime: -1, Content: idOf("r"), Subtree: idOf("s")},
		Entry{Name: "max", Type: BlockDev, Mode: 0o7777, UID: 1<<32 - 1, GID: 1<<32 - 1, Rdev: 1<<64 - 1,
			MTime: 1<<63 - 1, Nlink: 1<<32 - 1, CTime: -1 << 63, Inode: 1<<64 - 1, Dev: 1<<64 - 1},
		big, long, many,
	)
	lists := fileEntry("listed", 0)
	lists.Size, lists.Content = 1<<40, idOf("content")
	lists.Lists = []digest.ID{idOf("l1"), idOf("l2")}
	sixteen := fileEntry("sixteen", 0)
	for i := range InlineChunks {
		sixteen.Chunks = append(sixteen.Chunks, Chunk{ID: idOf(string(rune(i))), Size: 1<<32 - 1})
		sixteen.Size += 1<<32 - 1
	}
	sixteen.Content = ContentRoot(sixteen.Chunks)
	return sortedByName(append(es, lists, sixteen))
}

func TestNodeRoundTrip(t *testing.T) {
	for _, n := range []*Node{
		{},
		{Entries: roundTripEntries()},
		{Pieces: []digest.ID{idOf("a"), idOf("b"), idOf("c")}},
	} {
		b, err := n.Encode()
		if err != nil {
			t.Fatal(err)
		}
		got, err := DecodeNode(b)
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(got, n) {
			t.Fatalf("round trip changed the node:\n got %+v\nwant %+v", got, n)
		}
		if again, _ := got.Encode(); !bytes.Equal(again, b) {
			t.Fatal("re-encoding differs")
		}
		if r, _, _ := WriteDir(t.Context(), newMemStore(), n.Entries); n.Pieces == nil && n.Root() != r {
			t.Fatal("Node.Root differs from the root WriteDir returns")
		}
		if u := EncodeUnchecked(n.Entries); n.Pieces == nil && !bytes.Equal(u, b) {
			t.Fatal("EncodeUnchecked differs from Encode on a valid node")
		}
	}
}

func TestDecodeHashed(t *testing.T) {
	for _, e := range roundTripEntries() {
		got, err := DecodeHashed(e.HashedEncoding())
		if err != nil {
			t.Fatalf("%q: %v", e.Name, err)
		}
		want := Entry{Name: e.Name, Type: e.Type, Mode: e.Mode, UID: e.UID, GID: e.GID, Size: e.Size,
			MTime: e.MTime, Nlink: e.Nlink, Rdev: e.Rdev, Target: e.Target, Xattrs: e.Xattrs, Content: e.Content}
		if !reflect.DeepEqual(*got, want) {
			t.Fatalf("%q: got %+v", e.Name, got)
		}
		if h := e.HashedEncoding(); !bytes.Equal(h[len(h)-digest.Size:], e.Content[:]) {
			t.Fatalf("%q: hashed encoding does not end with the content root", e.Name)
		}
	}
	h := sampleEntries()[0].HashedEncoding()
	for _, b := range [][]byte{nil, h[:len(h)-1], append(h, 0)} {
		if _, err := DecodeHashed(b); !errors.Is(err, ErrCorrupt) {
			t.Errorf("DecodeHashed(%x) = %v, want ErrCorrupt", b, err)
		}
	}
}

func TestValidName(t *testing.T) {
	for name, want := range map[string]bool{
		"a": true, "-": true, "...": true, " ": true, "\xff": true, "a\nb": true, "\\": true,
		"": false, ".": false, "..": false, "a/b": false, "/": false, "/abs": false, "a\x00": false,
	} {
		if got := ValidName(name); got != want {
			t.Errorf("ValidName(%q) = %v, want %v", name, got, want)
		}
	}
}

// badEntries breaks one rule each; the encoder refuses them and, written anyway,
// the decoder rejects them.
var badEntries = map[string]func(es []Entry){
	"unsorted":           func(es []Entry) { es[0], es[1] = es[1], es[0] },
	"duplicate":          func(es []Entry) { es[1].Name = es[0].Name },
	"unknown type":       func(es []Entry) { es[0].Type = 8 },
	"type zero":          func(es []Entry) { es[0].Type = 0 },
	"mode type bits":     func(es []Entry) { es[0].Mode = 0o100644 },
	"size on a dir":      func(es []Entry) { es[2].Size = 1 },
	"rdev on a fifo":     func(es []Entry) { es[3].Rdev = 1 },
	"target on a file":   func(es []Entry) { es[4].Target = "x" },
	"long target":        func(es []Entry) { es[5].Target = strings.Repeat("x", MaxTargetLen+1) },
	"long name":          func(es []Entry) { es[6].Name = "z" + strings.Repeat("x", MaxNameLen) },
	"content on a fifo":  func(es []Entry) { es[3].Content = idOf("x") },
	"dir without root":   func(es []Entry) { es[2].Content = digest.ID{} },
	"file without root":  func(es []Entry) { es[4].Content = digest.ID{} },
	"subtree on a file":  func(es []Entry) { es[4].Subtree = idOf("x") },
	"sparse symlink":     func(es []Entry) { es[5].Sparse = true },
	"chunks on a socket": func(es []Entry) { es[6].Chunks = []Chunk{{Size: 1}} },
	"lists on a dir":     func(es []Entry) { es[2].Lists = []digest.ID{{}} },
	"size not the sum":   func(es []Entry) { es[4].Size++ },
	"empty chunk":        func(es []Entry) { es[4].Chunks[0].Size = 0; es[4].Size = 0 },
	"chunks and lists":   func(es []Entry) { es[4].Lists = []digest.ID{{}} },
	"17 inline chunks": func(es []Entry) {
		es[4].Chunks = make([]Chunk, InlineChunks+1)
		for i := range es[4].Chunks {
			es[4].Chunks[i].Size = 1
		}
		es[4].Size = InlineChunks + 1
	},
	"xattrs unsorted":  func(es []Entry) { es[4].Xattrs[0].Name = "user.c" },
	"xattrs duplicate": func(es []Entry) { es[4].Xattrs[0].Name = "user.b" },
	"xattr empty name": func(es []Entry) { es[0].Xattrs = []Xattr{{Name: ""}} },
	"xattr long value": func(es []Entry) { es[0].Xattrs = []Xattr{{Name: "a", Value: make([]byte, MaxXattrValue+1)}} },
	"too many xattrs":  func(es []Entry) { es[0].Xattrs = make([]Xattr, MaxXattrs+1) },
	"entry too large": func(es []Entry) {
		for i := range 70 {
			es[0].Xattrs = append(es[0].Xattrs, Xattr{Name: string(rune(0x100 + i)), Value: make([]byte, MaxXattrValue)})
		}
	},
}

func TestEncodeRefuses(t *testing.T) {
	invalidNames := []string{"", ".", "..", "a/b", "/abs", "nul\x00"}
	for _, name := range invalidNames {
		badEntries["name "+name] = func(es []Entry) { es[0].Name = name }
	}
	defer func() {
		for _, name := range invalidNames {
			delete(badEntries, "name "+name)
		}
	}()
	for name, breakIt := range badEntries {
		es := sampleEntries()
		breakIt(es)
		if _, err := (&Node{Entries: es}).Encode(); !errors.Is(err, ErrInvalid) {
			t.Errorf("%s: Encode error %v, want ErrInvalid", name, err)
		}
		if _, _, err := WriteDir(t.Context(), newMemStore(), es); !errors.Is(err, ErrInvalid) {
			t.Errorf("%s: WriteDir error %v, want ErrInvalid", name, err)
		}
	}
	for name, n := range map[string]*Node{
		"one piece":          {Pieces: []digest.ID{{}}},
		"pieces and entries": {Pieces: []digest.ID{{}, {}}, Entries: sampleEntries()},
	} {
		if _, err := n.Encode(); !errors.Is(err, ErrInvalid) {
			t.Errorf("%s: Encode error %v, want ErrInvalid", name, err)
		}
	}
}

func TestDecodeAcceptsInvalidNames(t *testing.T) {
	es := sortedByName([]Entry{fileEntry("..", 1), fileEntry("a/b", 1), fileEntry("/abs", 1), fileEntry("", 1), fileEntry(".", 1)})
	n, err := DecodeNode(EncodeUnchecked(es))
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(n.Entries, es) {
		t.Fatal("names changed")
	}
}
