package remotetest

import (
	"context"
	"fmt"

	"github.com/cairn-backup/cairn/remote"
)

// Kind is what a fault does when it fires.
type Kind int

// The fault kinds. Fail and Hang apply to every operation; the others only to the one
// they name, and a fault scripted for another operation never fires (Verify reports it).
const (
	// Fail returns Fault.Err (ErrInjected if nil), wrapped, without calling the store.
	Fail Kind = iota
	// Hang blocks until the call's context is done, then returns its error.
	Hang
	// PutLost reports success and stores nothing: a server that lies with a 200.
	PutLost
	// PutPrefix stores only the first Keep bytes (fewer than all, if there are any) and
	// reports success.
	PutPrefix
	// GetTruncate returns the first Keep bytes of the range (fewer than all, if there
	// are any), then a clean io.EOF: the reader cannot tell, so callers must count.
	GetTruncate
	// GetFlip returns the range with one byte inverted (XOR 0xff), at a position drawn
	// from Seed, so a run is reproducible. An empty range is returned unchanged.
	GetFlip
	// ListShort reports the first Keep objects, then ends the listing with a nil error:
	// a lying listing. Keep 0 lies that there are no objects at all.
	ListShort
)

func (k Kind) String() string {
	names := [...]string{"Fail", "Hang", "PutLost", "PutPrefix", "GetTruncate", "GetFlip", "ListShort"}
	if k < 0 || int(k) >= len(names) {
		return fmt.Sprintf("Kind(%d)", int(k))
	}
	return names[k]
}

// Fault is one scripted fault: which calls it matches, when it fires, what it does.
type Fault struct {
	// Op is the operation matched; empty matches all (meaningful for Fail and Hang).
	Op Op
	// Type is the object type matched; empty matches all.
	Type remote.Type
	// Name is the object name matched; empty matches all. List calls carry no name, so
	// a fault with a Name never matches a List.
	Name string

	// Nth is the first matching call that fires, counting from 1. Nth 0 fires on every
	// matching call, without end, and ignores Repeat.
	Nth int
	// Repeat is how many matching calls fire, from the Nth on: 0 or 1 fire once, a
	// negative Repeat fires on every one from the Nth on.
	Repeat int

	Kind Kind
	// Err is the error of a Fail fault.
	Err error
	// Keep is the bytes kept by PutPrefix and GetTruncate, the objects by ListShort.
	Keep int64
	// Seed chooses the byte GetFlip inverts.
	Seed uint64
}

func (f Fault) String() string {
	return fmt.Sprintf("{op=%q type=%q name=%q nth=%d repeat=%d kind=%v}",
		f.Op, f.Type, f.Name, f.Nth, f.Repeat, f.Kind)
}

// matches reports whether a call of op on h is one the fault counts.
func (f *Fault) matches(op Op, h remote.Handle) bool {
	return (f.Op == "" || f.Op == op) && f.Kind.appliesTo(op) &&
		(f.Type == "" || f.Type == h.Type) && (f.Name == "" || f.Name == h.Name)
}

// appliesTo reports whether a fault of kind k can act on op at all.
func (k Kind) appliesTo(op Op) bool {
	switch k {
	case Fail, Hang:
		return true
	case PutLost, PutPrefix:
		return op == OpPut
	case GetTruncate, GetFlip:
		return op == OpGet
	case ListShort:
		return op == OpList
	default:
		return false
	}
}

// due reports whether the fault fires on the matching call just counted in seen.
func (s *scripted) due() bool {
	if s.Nth <= 0 {
		return true
	}
	n := s.seen - s.Nth
	if n < 0 {
		return false
	}
	return s.Repeat < 0 || n < max(s.Repeat, 1)
}

// fail is what Fail and Hang do.
func (f *Fault) fail(ctx context.Context, op Op, h remote.Handle) error {
	if f.Kind == Hang {
		<-ctx.Done()
		return fmt.Errorf("%s %s: %w", op, h, ctx.Err())
	}
	err := f.Err
	if err == nil {
		err = ErrInjected
	}
	return fmt.Errorf("%s %s: %w", op, h, err)
}
