package repo

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"sync"
	"testing"

	"github.com/cairn-backup/cairn/internal/digest"
	"github.com/cairn-backup/cairn/internal/pack"
	"github.com/cairn-backup/cairn/remote"
)

func ids(names ...string) []digest.ID {
	out := make([]digest.ID, len(names))
	for i, n := range names {
		out[i] = digest.Of([]byte(n))
	}
	return out
}

func TestStateRoundTrip(t *testing.T) {
	for _, set := range [][]digest.ID{nil, ids("a"), ids("c", "a", "b", "a")} {
		b := EncodeState(StateVerified, set)
		kind, got, err := DecodeState(b)
		want := slices.Compact(slices.SortedFunc(slices.Values(set), func(a, b digest.ID) int { return bytes.Compare(a[:], b[:]) }))
		if err != nil || kind != StateVerified || len(got) != len(want) || (len(want) > 0 && !slices.Equal(got, want)) {
			t.Fatalf("%d ids: got %v %v %v", len(set), kind, got, err)
		}
	}
}

func TestDecodeStateRejects(t *testing.T) {
	good := EncodeState(StateForgotten, ids("a", "b"))
	swapped := slices.Clone(good)
	copy(swapped[7:39], good[39:71])
	copy(swapped[39:71], good[7:39])
	for name, b := range map[string][]byte{
		"empty":       nil,
		"magic":       append([]byte("XRNS"), good[4:]...),
		"version":     append([]byte("CRNS\x02"), good[5:]...),
		"kind":        append([]byte("CRNS\x01\x07"), good[6:]...),
		"short":       good[:len(good)-1],
		"long":        append(slices.Clone(good), 0),
		"count":       append([]byte("CRNS\x01\x01\x80\x00"), good[7:]...),
		"unsorted":    swapped,
		"huge count":  []byte("CRNS\x01\x01\xff\xff\xff\xff\x0f"),
		"duplicate":   append(slices.Clone(good[:6]), append([]byte{2}, append(good[7:39], good[7:39]...)...)...),
		"no count":    []byte("CRNS\x01\x01"),
		"overflowing": []byte("CRNS\x01\x01\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\x01"),
	} {
		if _, _, err := DecodeState(b); !errors.Is(err, ErrCorrupt) {
			t.Errorf("%s: %v", name, err)
		}
	}
}

func FuzzDecodeState(f *testing.F) {
	f.Add(EncodeState(StateVerified, ids("a", "b", "c")))
	f.Add(EncodeState(StateForgotten, nil))
	f.Fuzz(func(t *testing.T, b []byte) {
		kind, set, err := DecodeState(b)
		if err != nil {
			if !errors.Is(err, ErrCorrupt) {
				t.Fatalf("error %v does not wrap ErrCorrupt", err)
			}
			return
		}
		if again := EncodeState(kind, set); !bytes.Equal(again, b) {
			t.Fatal("an accepted state object does not re-encode to itself")
		}
	})
}

func TestStateSaveReplacesAndKeepsForgotten(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t)
	r := f.open(t)
	st, err := r.LoadState(ctx)
	if err != nil || len(st.Verified)+len(st.Forgotten)+len(st.Damaged) != 0 {
		t.Fatalf("empty state: %+v %v", st, err)
	}
	if err := r.SaveVerified(ctx, st, ids("p1", "p2")); err != nil {
		t.Fatal(err)
	}
	if err := r.RecordForgotten(ctx, ids("s1")); err != nil {
		t.Fatal(err)
	}
	st, _ = r.LoadState(ctx)
	if err := r.SaveVerified(ctx, st, ids("p1", "p2", "p3")); err != nil {
		t.Fatal(err)
	}
	st, err = r.LoadState(ctx)
	if err != nil || len(st.Verified) != 3 || !st.Forgotten[ids("s1")[0]] || len(st.verified) != 1 {
		t.Fatalf("state %+v %v", st, err)
	}
	// A damaged object is reported and otherwise ignored.
	h, data := f.object(t, remote.State)
	data[len(data)-1] ^= 1
	put(t, f.st, h, data)
	if st, err = r.LoadState(ctx); err != nil || len(st.Damaged) != 1 {
		t.Fatalf("damaged state object: %+v %v", st, err)
	}
}

// A verify on another client may replace its verified-pack object between this
// client's listing of state/ and its reading of it: the object gone is skipped, and
// the rest of the state still loads (forget and prune load it before deleting).
func TestLoadStateSkipsObjectReplacedMeanwhile(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t)
	r := f.open(t)
	st, _ := r.LoadState(ctx)
	if err := r.SaveVerified(ctx, st, ids("p1")); err != nil {
		t.Fatal(err)
	}
	if err := r.RecordForgotten(ctx, ids("s1")); err != nil {
		t.Fatal(err)
	}
	var verified string
	st, _ = r.LoadState(ctx)
	for _, id := range st.verified {
		verified = id.String()
	}
	racing := &deleteAfterList{Storage: f.st, typ: remote.State, victim: verified}
	opts := f.opts
	opts.CacheDir = ""
	r2, err := Open(ctx, racing, opts)
	if err != nil {
		t.Fatal(err)
	}
	st, err = r2.LoadState(ctx)
	if err != nil || racing.victim != "" || !st.Forgotten[ids("s1")[0]] || len(st.Verified)+len(st.Damaged) != 0 {
		t.Fatalf("state with an object replaced meanwhile: %+v, %v", st, err)
	}
}

// deleteAfterList deletes victim once, right after listing its type: another client
// replacing it between this one's listing and its read.
type deleteAfterList struct {
	remote.Storage
	typ    remote.Type
	victim string
}

func (s *deleteAfterList) List(ctx context.Context, t remote.Type, fn func(remote.Info) error) error {
	err := s.Storage.List(ctx, t, fn)
	if t == s.typ && s.victim != "" {
		err = errors.Join(err, s.Storage.Delete(ctx, remote.Handle{Type: t, Name: s.victim}))
		s.victim = ""
	}
	return err
}

func TestHistory(t *testing.T) {
	f := newFixture(t)
	r := f.open(t)
	if seen, err := r.SeenSnapshots(); err != nil || len(seen) != 0 {
		t.Fatalf("fresh client: %v %v", seen, err)
	}
	if err := r.RememberSnapshots(ids("a", "b", "c")); err != nil {
		t.Fatal(err)
	}
	if err := r.DropSeenSnapshots(ids("b")); err != nil {
		t.Fatal(err)
	}
	seen, err := f.open(t).SeenSnapshots()
	if err != nil || len(seen) != 2 || slices.Contains(seen, ids("b")[0]) {
		t.Fatalf("remembered %v %v", seen, err)
	}
	// Another repository at the same location (after forget-pin) starts anew.
	g := newFixture(t)
	g.opts.StateDir = f.opts.StateDir
	if err := ForgetPin(g.opts.StateDir, g.st.Location()); err != nil {
		t.Fatal(err)
	}
	if seen, err := g.open(t).SeenSnapshots(); err != nil || len(seen) != 0 {
		t.Fatalf("another repository inherits the history: %v %v", seen, err)
	}
	off := f.opts
	off.StateDir = ""
	r2, err := Open(context.Background(), f.st, off)
	if err != nil {
		t.Fatal(err)
	}
	if err := r2.RememberSnapshots(ids("x")); err != nil {
		t.Fatal(err)
	}
}

func TestLoadIndexReportNamesDamagedSegments(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t)
	r := f.open(t)
	seg := f.onlySegment(t)
	h := remote.Handle{Type: remote.Index, Name: seg}
	data, _ := remote.ReadAll(ctx, f.st, h, 0, 0, 1<<20)
	data[len(data)/2] ^= 1
	put(t, f.st, h, data)
	damaged, err := r.LoadIndexReport(ctx)
	if err != nil || len(damaged) != 1 || !IsDamage(damaged[0]) || r.idx == nil {
		t.Fatalf("damaged %v, err %v", damaged, err)
	}
}

func (f *fixture) onlySegment(t *testing.T) string {
	t.Helper()
	var names []string
	_ = f.st.List(context.Background(), remote.Index, func(i remote.Info) error { names = append(names, i.Name); return nil })
	if len(names) != 1 {
		t.Fatalf("%d index segments", len(names))
	}
	return names[0]
}

// A segment listed and gone when read was replaced by a prune meanwhile (new segments
// are written before the old ones are deleted): both index loaders list again rather
// than fail the backup, restore or verify that loads it.
func TestIndexLoadersListAgainWhenASegmentVanishes(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t)
	opts := f.opts
	opts.CacheDir = ""
	for _, lenient := range []bool{false, true} {
		racing := &vanishOnce{Storage: f.st, typ: remote.Index}
		r, err := Open(ctx, racing, opts)
		if err != nil {
			t.Fatal(err)
		}
		var damaged []error
		if lenient {
			damaged, err = r.LoadIndexReport(ctx)
		} else {
			err = r.LoadIndex(ctx)
		}
		data, lerr := r.LoadBlob(ctx, pack.Data, f.dataID)
		if err != nil || len(damaged) != 0 || !racing.done || lerr != nil || !bytes.Equal(data, f.data) {
			t.Fatalf("lenient %v: err %v, damaged %v, vanished %v, blob %v", lenient, err, damaged, racing.done, lerr)
		}
	}
}

// vanishOnce answers the first read of an object of typ with ErrNotFound, as a store
// does for an object deleted after it was listed.
type vanishOnce struct {
	remote.Storage
	typ  remote.Type
	mu   sync.Mutex
	done bool
}

func (s *vanishOnce) Get(ctx context.Context, h remote.Handle, offset, length int64) (io.ReadCloser, error) {
	s.mu.Lock()
	vanish := h.Type == s.typ && !s.done
	s.done = s.done || vanish
	s.mu.Unlock()
	if vanish {
		return nil, fmt.Errorf("get %s: %w", h, remote.ErrNotFound)
	}
	return s.Storage.Get(ctx, h, offset, length)
}
