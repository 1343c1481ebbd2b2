package remotetest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"sync"
	"testing"

	"github.com/cairn-backup/cairn/remote"
)

// ErrInjected is the error of a Fail fault that names no error of its own: a generic
// transient failure, as a dropped connection would give.
var ErrInjected = errors.New("injected fault")

// errStopList ends an inner listing early for a ListShort fault.
var errStopList = errors.New("listing cut short")

// Op is a storage operation that a fault matches and that Calls counts.
type Op string

// The operations of remote.Storage that can fail.
const (
	OpPut    Op = "put"
	OpGet    Op = "get"
	OpStat   Op = "stat"
	OpList   Op = "list"
	OpDelete Op = "delete"
)

// Faulty decorates a Storage with scripted faults and counts every call. A test adds
// faults, runs the code under test, then calls Verify: a fault that never fired proves
// nothing, so Verify fails the test for it.
type Faulty struct {
	remote.Storage

	mu     sync.Mutex
	faults []*scripted
	calls  map[callKey]int
}

// scripted is an added fault and its accounting.
type scripted struct {
	Fault
	seen  int // matching calls so far
	fired int
}

type callKey struct {
	op Op
	t  remote.Type
}

var _ remote.Storage = (*Faulty)(nil)

// NewFaulty wraps inner; without faults it passes every call through.
func NewFaulty(inner remote.Storage) *Faulty {
	return &Faulty{Storage: inner, calls: make(map[callKey]int)}
}

// Add scripts a fault and returns its id for Fired. When several faults are due on one
// call, the first added fires; the others still count the call as seen.
func (f *Faulty) Add(flt Fault) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.faults = append(f.faults, &scripted{Fault: flt})
	return len(f.faults) - 1
}

// Fired returns how often the fault with the given id fired (0 for an unknown id).
func (f *Faulty) Fired(id int) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	if id < 0 || id >= len(f.faults) {
		return 0
	}
	return f.faults[id].fired
}

// Unfired returns the faults that have not fired yet, in the order they were added.
func (f *Faulty) Unfired() []Fault {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []Fault
	for _, s := range f.faults {
		if s.fired == 0 {
			out = append(out, s.Fault)
		}
	}
	return out
}

// Verify fails t for every fault that never fired.
func (f *Faulty) Verify(t testing.TB) {
	t.Helper()
	for _, flt := range f.Unfired() {
		t.Errorf("scripted fault never fired: %v", flt)
	}
}

// Calls counts the calls of op made so far, faulted or not; with types given, only
// calls on objects of those types (so that "no Put of data" is Calls(OpPut, remote.Data)).
func (f *Faulty) Calls(op Op, types ...remote.Type) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	n := 0
	for k, c := range f.calls {
		if k.op == op && (len(types) == 0 || containsType(types, k.t)) {
			n += c
		}
	}
	return n
}

func containsType(ts []remote.Type, t remote.Type) bool {
	for _, x := range ts {
		if x == t {
			return true
		}
	}
	return false
}

// fire counts the call and returns the fault that fires on it, or nil.
func (f *Faulty) fire(op Op, h remote.Handle) *Fault {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls[callKey{op, h.Type}]++
	var hit *Fault
	for _, s := range f.faults {
		if !s.matches(op, h) {
			continue
		}
		s.seen++
		if hit == nil && s.due() {
			s.fired++
			c := s.Fault
			hit = &c
		}
	}
	return hit
}

// Put stores the body unless a fault fires.
func (f *Faulty) Put(ctx context.Context, h remote.Handle, body remote.Body) error {
	flt := f.fire(OpPut, h)
	if flt == nil {
		return f.Storage.Put(ctx, h, body)
	}
	switch flt.Kind {
	case PutLost:
		return nil
	case PutPrefix:
		n := int64(keep(flt.Keep, int(body.Size())))
		return f.Storage.Put(ctx, h, io.NewSectionReader(body, 0, n))
	}
	return flt.fail(ctx, OpPut, h)
}

// Get reads the range unless a fault fires. Damaged bodies are read whole from the
// inner store first, which is fine at test sizes; if the inner Get fails, its error is
// returned and the fault still counts as fired.
func (f *Faulty) Get(ctx context.Context, h remote.Handle, offset, length int64) (io.ReadCloser, error) {
	flt := f.fire(OpGet, h)
	if flt == nil {
		return f.Storage.Get(ctx, h, offset, length)
	}
	if flt.Kind != GetTruncate && flt.Kind != GetFlip {
		return nil, flt.fail(ctx, OpGet, h)
	}
	rd, err := f.Storage.Get(ctx, h, offset, length)
	if err != nil {
		return nil, err
	}
	data, err := io.ReadAll(rd)
	rd.Close()
	if err != nil {
		return nil, fmt.Errorf("get %s: %w", h, err)
	}
	if flt.Kind == GetTruncate {
		data = data[:keep(flt.Keep, len(data))]
	} else if len(data) > 0 {
		pos := rand.New(rand.NewPCG(flt.Seed, flt.Seed)).IntN(len(data))
		data[pos] ^= 0xff
	}
	return io.NopCloser(bytes.NewReader(data)), nil
}

// Stat returns the size unless a fault fires.
func (f *Faulty) Stat(ctx context.Context, h remote.Handle) (remote.Info, error) {
	if flt := f.fire(OpStat, h); flt != nil {
		return remote.Info{}, flt.fail(ctx, OpStat, h)
	}
	return f.Storage.Stat(ctx, h)
}

// Delete removes the object unless a fault fires.
func (f *Faulty) Delete(ctx context.Context, h remote.Handle) error {
	if flt := f.fire(OpDelete, h); flt != nil {
		return flt.fail(ctx, OpDelete, h)
	}
	return f.Storage.Delete(ctx, h)
}

// List lists unless a fault fires; a ListShort fault lies with a short listing.
func (f *Faulty) List(ctx context.Context, t remote.Type, fn func(remote.Info) error) error {
	flt := f.fire(OpList, remote.Handle{Type: t})
	if flt == nil {
		return f.Storage.List(ctx, t, fn)
	}
	if flt.Kind != ListShort {
		return flt.fail(ctx, OpList, remote.Handle{Type: t})
	}
	var n int64
	err := f.Storage.List(ctx, t, func(info remote.Info) error {
		if n >= flt.Keep {
			return errStopList
		}
		n++
		return fn(info)
	})
	if errors.Is(err, errStopList) {
		return nil
	}
	return err
}

// keep is how many of n bytes a cutting fault keeps: Keep, but always fewer than n, so
// that the fault damages anything non-empty.
func keep(k int64, n int) int {
	switch {
	case n == 0 || k <= 0:
		return 0
	case k >= int64(n):
		return n - 1
	default:
		return int(k)
	}
}
