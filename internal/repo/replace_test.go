package repo

import (
	"bytes"
	"context"
	"encoding/hex"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/cairn-backup/cairn/internal/digest"
	"github.com/cairn-backup/cairn/manifest"
	"github.com/cairn-backup/cairn/remote"
)

func pair(old, new string) Replacement {
	return Replacement{Old: digest.Of([]byte(old)), New: digest.Of([]byte(new))}
}

// TestReplacedEncoding pins the bytes of a state object of kind 3: header, count,
// then old ‖ new pairs sorted by old id.
func TestReplacedEncoding(t *testing.T) {
	a := Replacement{Old: digest.ID{2}, New: digest.ID{3}}
	b := Replacement{Old: digest.ID{1}, New: digest.ID{9}}
	got, err := EncodeReplaced([]Replacement{a, b})
	if err != nil {
		t.Fatal(err)
	}
	id := func(first byte) string { return hex.EncodeToString(append([]byte{first}, make([]byte, 31)...)) }
	want := hex.EncodeToString([]byte("CRNS\x01\x03\x02")) + id(1) + id(9) + id(2) + id(3)
	if hex.EncodeToString(got) != want {
		t.Fatalf("encoding\n got %x\nwant %s", got, want)
	}
	back, err := DecodeReplaced(got)
	if err != nil || !slices.Equal(back, []Replacement{b, a}) {
		t.Fatalf("decoded %v %v", back, err)
	}
	if empty, err := EncodeReplaced(nil); err != nil || string(empty) != "CRNS\x01\x03\x00" {
		t.Fatalf("empty: %q %v", empty, err)
	}
}

func TestEncodeReplacedRefuses(t *testing.T) {
	for name, pairs := range map[string][]Replacement{
		"twice": {pair("a", "b"), pair("a", "c")},
		"self":  {pair("a", "a")},
	} {
		if _, err := EncodeReplaced(pairs); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}

func TestDecodeReplacedRejects(t *testing.T) {
	good, _ := EncodeReplaced([]Replacement{pair("a", "b"), pair("c", "d")})
	body := good[7:]
	if bytes.Compare(body[:32], body[64:96]) >= 0 {
		t.Fatal("the encoder did not sort the pairs")
	}
	swapped := append(slices.Clone(good[:7]), append(slices.Clone(body[64:]), body[:64]...)...)
	dup := append(slices.Clone(good[:7]), append(slices.Clone(body[:64]), body[:64]...)...)
	self := slices.Clone(good)
	copy(self[7+32:7+64], self[7:7+32])
	forgotten := EncodeState(StateForgotten, ids("a", "b"))
	for name, b := range map[string][]byte{
		"empty":      nil,
		"magic":      append([]byte("XRNS"), good[4:]...),
		"version":    append([]byte("CRNS\x02"), good[5:]...),
		"kind":       forgotten,
		"short":      good[:len(good)-1],
		"half pair":  good[:len(good)-32],
		"long":       append(slices.Clone(good), 0),
		"count":      append([]byte("CRNS\x01\x03\x80\x00"), body...),
		"count high": append([]byte("CRNS\x01\x03\x03"), body...),
		"huge count": []byte("CRNS\x01\x03\xff\xff\xff\xff\x0f"),
		"unsorted":   swapped,
		"duplicate":  dup,
		"self":       self,
		"no count":   []byte("CRNS\x01\x03"),
	} {
		if _, err := DecodeReplaced(b); !errors.Is(err, ErrCorrupt) {
			t.Errorf("%s: %v", name, err)
		}
	}
	if _, _, err := DecodeState(good); !errors.Is(err, ErrCorrupt) {
		t.Errorf("DecodeState took pairs for ids: %v", err)
	}
}

func FuzzDecodeReplaced(f *testing.F) {
	good, _ := EncodeReplaced([]Replacement{pair("a", "b"), pair("c", "d")})
	f.Add(good)
	f.Add([]byte("CRNS\x01\x03\x00"))
	f.Fuzz(func(t *testing.T, b []byte) {
		pairs, err := DecodeReplaced(b)
		if err != nil {
			if !errors.Is(err, ErrCorrupt) {
				t.Fatalf("error %v does not wrap ErrCorrupt", err)
			}
			return
		}
		if again, err := EncodeReplaced(pairs); err != nil || !bytes.Equal(again, b) {
			t.Fatal("an accepted replacement object does not re-encode to itself")
		}
	})
}

func TestResolveFollowsReplacements(t *testing.T) {
	a, b, c := digest.Of([]byte("a")), digest.Of([]byte("b")), digest.Of([]byte("c"))
	st := &State{Replaced: map[digest.ID]digest.ID{a: b, b: c, c: a}} // a cycle: only forged
	present := func(x digest.ID) bool { return x == c }
	if got := st.Resolve(a, present); got != c {
		t.Fatalf("a resolves to %s, want c", got.Short())
	}
	if got := st.Resolve(a, func(digest.ID) bool { return false }); got != b && got != c && got != a {
		t.Fatalf("a cycle: %s", got.Short())
	}
}

func testRecord(t *testing.T, tags ...string) []byte {
	t.Helper()
	s := manifest.Snapshot{Version: manifest.SnapshotVersion, Time: time.Unix(1e9, 0), Host: "h", Paths: []string{"/p"}, Tags: tags}
	b, err := s.Encode()
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestReplaceSnapshots: the new record is saved, the pair recorded, the old record
// deleted, and the client's history moves from the old id to the new.
func TestReplaceSnapshots(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t)
	r := f.open(t)
	old, err := r.SaveSnapshot(ctx, testRecord(t))
	if err != nil {
		t.Fatal(err)
	}
	if err := r.RememberSnapshots([]digest.ID{old}); err != nil {
		t.Fatal(err)
	}
	same, err := r.ReplaceSnapshots(ctx, []Rewrite{{Old: old, Record: testRecord(t)}})
	if err != nil || len(same) != 0 {
		t.Fatalf("an unchanged record: %v %v", same, err)
	}
	done, err := r.ReplaceSnapshots(ctx, []Rewrite{{Old: old, Record: testRecord(t, "x")}})
	if err != nil || len(done) != 1 || done[0].Old != old || done[0].New != digest.Of(testRecord(t, "x")) {
		t.Fatalf("replaced %v %v", done, err)
	}
	listed, _ := r.Snapshots(ctx)
	if slices.Contains(listed, old) || !slices.Contains(listed, done[0].New) {
		t.Fatalf("snapshots after replace: %v", listed)
	}
	st, err := r.LoadState(ctx)
	if err != nil || st.Replaced[old] != done[0].New || len(st.Damaged) != 0 {
		t.Fatalf("state %+v %v", st, err)
	}
	seen, _ := r.SeenSnapshots()
	if slices.Contains(seen, old) || !slices.Contains(seen, done[0].New) {
		t.Fatalf("history %v", seen)
	}
	if _, err := r.LoadSnapshot(ctx, old); !errors.Is(err, remote.ErrNotFound) {
		t.Fatalf("old record still loads: %v", err)
	}
}

// TestFilterTags: restic's tag sets, an OR of ANDs; an empty set asks for no tags.
func TestFilterTags(t *testing.T) {
	snap := func(host string, tags ...string) Snapshot {
		return Snapshot{Snapshot: &manifest.Snapshot{Host: host, Tags: tags, Paths: []string{"/etc", "/home"}}}
	}
	for _, c := range []struct {
		f    Filter
		s    Snapshot
		want bool
	}{
		{Filter{}, snap("h"), true},
		{Filter{Tags: [][]string{{"a", "b"}}}, snap("h", "a"), false},
		{Filter{Tags: [][]string{{"a", "b"}}}, snap("h", "b", "a", "c"), true},
		{Filter{Tags: [][]string{{"a", "b"}, {"c"}}}, snap("h", "c"), true},
		{Filter{Tags: [][]string{{"a"}, {"c"}}}, snap("h", "d"), false},
		{Filter{Tags: [][]string{{}}}, snap("h"), true},
		{Filter{Tags: [][]string{{}}}, snap("h", "a"), false},
		{Filter{Host: "h", Tags: [][]string{{"a"}}}, snap("g", "a"), false},
		{Filter{Paths: []string{"/etc"}}, snap("h"), true},
		{Filter{Paths: []string{"/etc", "/var"}}, snap("h"), false},
	} {
		if got := c.f.Match(c.s); got != c.want {
			t.Errorf("%+v on host %s tags %v: %v, want %v", c.f, c.s.Host, c.s.Tags, got, c.want)
		}
	}
}
