package repo

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/cairn-backup/cairn/internal/digest"
	"github.com/cairn-backup/cairn/remote"
	"github.com/cairn-backup/cairn/remote/remotetest"
)

func TestMarkRoundTrip(t *testing.T) {
	packs := ids("c", "a", "b", "a")
	b := EncodeMark(36*time.Hour, packs)
	grace, got, err := DecodeMark(b)
	if err != nil {
		t.Fatal(err)
	}
	want := slices.Clone(ids("a", "b", "c"))
	slices.SortFunc(want, func(x, y digest.ID) int { return bytes.Compare(x[:], y[:]) })
	if grace != 36*time.Hour || !slices.Equal(got, want) {
		t.Errorf("decoded %v %v, want 36h and the sorted, distinct packs", grace, got)
	}
}

func TestDecodeMarkRejects(t *testing.T) {
	good := EncodeMark(time.Hour, ids("a", "b"))
	a, b := ids("a")[0], ids("b")[0]
	if bytes.Compare(a[:], b[:]) > 0 {
		a, b = b, a
	}
	unsorted := append(append(append([]byte("CRNM\x01"), binary.AppendUvarint(nil, 3600)...), 2), append(b[:], a[:]...)...)
	dup := append(append(append([]byte("CRNM\x01"), binary.AppendUvarint(nil, 3600)...), 2), append(a[:], a[:]...)...)
	cases := map[string][]byte{
		"empty":       nil,
		"magic":       append([]byte("CRNS"), good[4:]...),
		"version":     append([]byte("CRNM\x02"), good[5:]...),
		"truncated":   good[:len(good)-1],
		"extra byte":  append(slices.Clone(good), 0),
		"unsorted":    unsorted,
		"duplicate":   dup,
		"long varint": append([]byte("CRNM\x01\x80\x00"), good[6:]...),
		"huge grace":  append(append([]byte("CRNM\x01"), binary.AppendUvarint(nil, 1<<40)...), 0),
	}
	for name, in := range cases {
		if _, _, err := DecodeMark(in); !errors.Is(err, ErrCorrupt) {
			t.Errorf("%s: err %v, want ErrCorrupt", name, err)
		}
	}
}

func FuzzDecodeMark(f *testing.F) {
	f.Add(EncodeMark(24*time.Hour, ids("a", "b", "c")))
	f.Add(EncodeMark(0, nil))
	f.Fuzz(func(t *testing.T, b []byte) {
		grace, packs, err := DecodeMark(b)
		if err != nil {
			if !errors.Is(err, ErrCorrupt) {
				t.Fatalf("error %v does not wrap ErrCorrupt", err)
			}
			return
		}
		if again := EncodeMark(grace, packs); !bytes.Equal(again, b) {
			t.Fatal("an accepted mark record does not re-encode to itself")
		}
	})
}

// Marks carry the storage's time, not the writer's: prune's grace periods are measured
// on the storage's clock alone.
func TestMarksCarryStorageTime(t *testing.T) {
	st := remotetest.NewMem()
	storage := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	st.Now = func() time.Time { return storage }
	opts := testOptions(t, "pw")
	opts.Clock = func() time.Time { return storage.Add(-7 * time.Hour) } // a skewed host
	r := initRepo(t, st, opts)
	id, err := r.SaveMark(t.Context(), 2*time.Hour, ids("x", "y"))
	if err != nil {
		t.Fatal(err)
	}
	marks, err := r.LoadMarks(t.Context())
	if err != nil || len(marks) != 1 {
		t.Fatalf("LoadMarks: %v, %d marks", err, len(marks))
	}
	m := marks[0]
	if m.ID != id || !m.Time.Equal(storage) || m.Grace != 2*time.Hour || len(m.Packs) != 2 {
		t.Errorf("mark %+v, want id %s at the storage's time with 2 packs", m, id.Short())
	}
	if err := r.DeleteMark(t.Context(), id); err != nil {
		t.Fatal(err)
	}
	if marks, err := r.LoadMarks(t.Context()); err != nil || len(marks) != 0 {
		t.Errorf("after delete: %v, %d marks", err, len(marks))
	}
}

// A mark that does not open stops whoever reads marks: acting without it could reuse
// or delete the wrong packs.
func TestDamagedMarkIsAnError(t *testing.T) {
	st := remotetest.NewMem()
	opts := testOptions(t, "pw")
	opts.CacheDir = ""
	r := initRepo(t, st, opts)
	id, err := r.SaveMark(t.Context(), time.Hour, ids("x"))
	if err != nil {
		t.Fatal(err)
	}
	h := remote.Handle{Type: remote.Mark, Name: id.String()}
	put(t, st, h, []byte("not a sealed record at all, long enough to open"))
	if _, err := r.LoadMarks(t.Context()); !IsDamage(err) {
		t.Errorf("err %v, want damage naming the mark", err)
	}
}

func TestRunNotes(t *testing.T) {
	st := remotetest.NewMem()
	storage := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	st.Now = func() time.Time { return storage }
	r := initRepo(t, st, testOptions(t, "pw"))
	n, err := r.StartRun(t.Context(), "prune")
	if err != nil {
		t.Fatal(err)
	}
	if at, err := n.StorageTime(t.Context()); err != nil || !at.Equal(storage) {
		t.Errorf("note time %v (%v), want the storage's %v", at, err, storage)
	}
	notes, err := r.RunNotes(t.Context())
	if err != nil || len(notes) != 1 || notes[0].Name != n.Name() {
		t.Fatalf("RunNotes: %v %v", notes, err)
	}
	if err := n.End(t.Context()); err != nil {
		t.Fatal(err)
	}
	if notes, err := r.RunNotes(t.Context()); err != nil || len(notes) != 0 {
		t.Errorf("after End: %v %v", notes, err)
	}
}

// A mark record that a prune deletes between the listing and the read is skipped, not
// an error: its packs were gone already (a backup beside a prune failed on it).
func TestMarkGoneAfterListing(t *testing.T) {
	mem := remotetest.NewMem()
	st := remotetest.NewFaulty(mem)
	opts := testOptions(t, "pw")
	opts.CacheDir = ""
	r := initRepo(t, st, opts)
	gone, err := r.SaveMark(t.Context(), time.Hour, ids("x"))
	if err != nil {
		t.Fatal(err)
	}
	kept, err := r.SaveMark(t.Context(), time.Hour, ids("y"))
	if err != nil {
		t.Fatal(err)
	}
	id := st.Add(remotetest.Fault{Op: remotetest.OpGet, Type: remote.Mark, Name: gone.String(), Nth: 1,
		Kind: remotetest.Fail, Err: fmt.Errorf("get: %w", remote.ErrNotFound)})
	marks, err := r.LoadMarks(t.Context())
	if err != nil || len(marks) != 1 || marks[0].ID != kept {
		t.Fatalf("LoadMarks: %v, %d marks; want only %s", err, len(marks), kept.Short())
	}
	if st.Fired(id) != 1 {
		t.Fatal("the fault never fired")
	}
}
