package prune

import (
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/cairn-backup/cairn/internal/digest"
	"github.com/cairn-backup/cairn/internal/repo"
)

var t0 = time.Date(2026, 12, 1, 3, 0, 0, 0, time.UTC)

func pid(s string) digest.ID { return digest.Of([]byte("pack " + s)) }
func bid(s string) Blob      { return Blob{Type: repo.DataBlob, ID: digest.Of([]byte("blob " + s))} }

// world builds an Input from a compact description: packs with their blobs (each
// blob 100 bytes; a pack is 10 bytes of header plus its blobs), which blobs are used.
type world struct {
	in Input
}

func newWorld() *world {
	return &world{in: Input{Now: t0, Packs: map[digest.ID]Pack{}, Used: map[Blob]bool{},
		Grace: 24 * time.Hour, MaxUnused: 0.05}}
}

func (w *world) pack(name string, age time.Duration, indexed bool, blobs ...string) *world {
	size := int64(10)
	for _, b := range blobs {
		w.in.Entries = append(w.in.Entries, Entry{Pack: pid(name), Blob: bid(b), Offset: uint64(size), Length: 100})
		size += 100
	}
	w.in.Packs[pid(name)] = Pack{Size: size, ModTime: t0.Add(-age), Indexed: indexed}
	return w
}

func (w *world) use(blobs ...string) *world {
	for _, b := range blobs {
		w.in.Used[bid(b)] = true
	}
	return w
}

func (w *world) mark(name string, age, grace time.Duration, packs ...string) *world {
	m := Mark{ID: digest.Of([]byte("mark " + name)), Time: t0.Add(-age), Grace: grace}
	for _, p := range packs {
		m.Packs = append(m.Packs, pid(p))
	}
	w.in.Marks = append(w.in.Marks, m)
	return w
}

func (w *world) plan(t *testing.T) *Plan {
	t.Helper()
	p, err := Make(w.in)
	if err != nil {
		t.Fatalf("Make: %v", err)
	}
	return p
}

func wantClass(t *testing.T, p *Plan, want map[string]Class) {
	t.Helper()
	for name, c := range want {
		if got := p.Class[pid(name)]; got != c {
			t.Errorf("pack %s: class %d, want %d", name, got, c)
		}
	}
}

const day = 24 * time.Hour

func TestClasses(t *testing.T) {
	w := newWorld().
		pack("used", day, true, "a", "b").
		pack("unused", day, true, "c").
		pack("marked-old", 3*day, true, "d").mark("m1", 25*time.Hour, day, "marked-old").
		pack("marked-new", 3*day, true, "e").mark("m2", time.Hour, day, "marked-new").
		pack("orphan-old", 2*day, false).
		pack("orphan-young", time.Hour, false).
		pack("rescued", 3*day, true, "f").mark("m3", 2*day, day, "rescued").
		use("a", "b", "f")
	p := w.plan(t)
	wantClass(t, p, map[string]Class{
		"used": Keep, "unused": MarkIt, "marked-old": Delete, "marked-new": Wait,
		"orphan-old": MarkIt, "orphan-young": Young, "rescued": Repack,
	})
	if len(p.Copy) != 1 || p.Copy[0].Blob != bid("f") {
		t.Errorf("copy %v, want blob f only", p.Copy)
	}
	// m1's only pack is deleted now: its record goes once the deletion is done.
	if !slices.Equal(p.DoneMark, []digest.ID{digest.Of([]byte("mark m1"))}) {
		t.Errorf("done marks %v", p.DoneMark)
	}
}

// A pack holding the same blob twice counts it once: the second copy is waste.
func TestBlobTwiceInOnePack(t *testing.T) {
	w := newWorld().pack("p", day, true, "a", "a", "b").pack("q", day, true, "c").use("a", "c")
	w.in.Entries = append(w.in.Entries, w.in.Entries...) // every segment listed twice
	w.in.MaxUnused = 1                                   // repack nothing: look at the counts only
	p := w.plan(t)
	wantClass(t, p, map[string]Class{"p": Keep, "q": Keep})
	if p.Stats.UsedBytes != 200 {
		t.Errorf("used bytes %d, want 200 (a once, c)", p.Stats.UsedBytes)
	}
	if p.Stats.UnusedAfter != 210+10 {
		t.Errorf("unused after %d, want 220 (p: header, second a, b; q: header)", p.Stats.UnusedAfter)
	}
}

// A blob in two packs is used in one: the pack whose other blobs are used keeps it, and
// the other becomes unneeded.
func TestBlobInTwoPacks(t *testing.T) {
	w := newWorld().pack("full", day, true, "a", "b").pack("dup", day, true, "a").use("a", "b")
	p := w.plan(t)
	wantClass(t, p, map[string]Class{"full": Keep, "dup": MarkIt})
	// After a repack the copy is in an unmarked pack and the old, marked one is deleted.
	w = newWorld().pack("old", 3*day, true, "a", "x").mark("m", 2*day, day, "old").
		pack("new", time.Hour, true, "a").use("a")
	p = w.plan(t)
	wantClass(t, p, map[string]Class{"old": Delete, "new": Keep})
}

func TestRepackMostWastefulFirst(t *testing.T) {
	w := newWorld().
		pack("half", day, true, "a", "x").
		pack("mostly-waste", day, true, "b", "y", "z", "w").
		pack("full1", day, true, "c", "d", "e", "f", "g", "h", "i", "j").
		use("a", "b", "c", "d", "e", "f", "g", "h", "i", "j")
	w.in.MaxUnused = 0.2
	p := w.plan(t)
	// used 1000; allowed unused 250; unused blob bytes 100+300 = 400 → repack mostly-waste.
	wantClass(t, p, map[string]Class{"mostly-waste": Repack, "half": Keep, "full1": Keep})
	w.in.MaxRepack = 50 // too small to copy even one blob: nothing is repacked
	p = w.plan(t)
	wantClass(t, p, map[string]Class{"mostly-waste": Keep})
}

// An index naming a pack the listing lacks stops the prune: a cut-short listing must
// never be read as "those packs are gone".
func TestMissingPackRefused(t *testing.T) {
	w := newWorld().pack("p", day, true, "a").use("a")
	w.in.Entries = append(w.in.Entries, Entry{Pack: pid("unlisted"), Blob: bid("b"), Length: 100})
	if _, err := Make(w.in); !errors.Is(err, ErrUntrusted) {
		t.Fatalf("err %v, want ErrUntrusted", err)
	}
	// A pack a prune deleted (a mark names it) is only dropped from the index.
	w.mark("m", 2*day, day, "unlisted")
	p := w.plan(t)
	if !slices.Equal(p.Forget, []digest.ID{pid("unlisted")}) {
		t.Errorf("forget %v, want the unlisted pack", p.Forget)
	}
}

// The grace period is the longer of the mark's and this prune's.
func TestGraceLongerOfMarkAndRun(t *testing.T) {
	w := newWorld().pack("p", 5*day, true, "a").mark("m", 2*day, 3*day, "p")
	wantClass(t, w.plan(t), map[string]Class{"p": Wait})
	w.in.Grace = time.Hour
	wantClass(t, w.plan(t), map[string]Class{"p": Wait})
	w.in.Now = t0.Add(day)
	wantClass(t, w.plan(t), map[string]Class{"p": Delete})
}

// A blob in use that no listed index entry places stops the prune: with an index
// listing cut short, the packs holding it would look unneeded.
func TestUsedBlobWithoutLocationRefused(t *testing.T) {
	w := newWorld().pack("p", day, true, "a").pack("q", 3*day, false).use("a", "b")
	if _, err := Make(w.in); !errors.Is(err, ErrUntrusted) {
		t.Fatalf("err %v, want ErrUntrusted", err)
	}
}
