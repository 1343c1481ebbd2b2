package remotetest_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"testing"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/cairn-backup/cairn/remote"
	"github.com/cairn-backup/cairn/remote/remotetest"
)

var (
	key1  = remote.Handle{Type: remote.Key, Name: "k1"}
	data1 = remote.Handle{Type: remote.Data, Name: "d1"}
)

func newFaulty(t *testing.T) *remotetest.Faulty {
	t.Helper()
	f := remotetest.NewFaulty(remotetest.NewMem())
	for _, h := range []remote.Handle{key1, data1} {
		if err := f.Put(t.Context(), h, remote.Bytes([]byte("0123456789"))); err != nil {
			t.Fatal(err)
		}
	}
	return f
}

func read(ctx context.Context, s remote.Storage, h remote.Handle) ([]byte, error) {
	rd, err := s.Get(ctx, h, 0, 0)
	if err != nil {
		return nil, err
	}
	defer rd.Close()
	return io.ReadAll(rd)
}

func TestFailDefaultAndGivenError(t *testing.T) {
	f := newFaulty(t)
	mine := errors.New("disk on fire")
	f.Add(remotetest.Fault{Op: remotetest.OpPut, Nth: 1})
	f.Add(remotetest.Fault{Op: remotetest.OpStat, Nth: 1, Err: mine})
	if err := f.Put(t.Context(), key1, remote.Bytes(nil)); !errors.Is(err, remotetest.ErrInjected) {
		t.Errorf("put: got %v, want ErrInjected", err)
	}
	if err := f.Put(t.Context(), key1, remote.Bytes([]byte("x"))); err != nil {
		t.Errorf("second put: the fault fires once, got %v", err)
	}
	if _, err := f.Stat(t.Context(), key1); !errors.Is(err, mine) {
		t.Errorf("stat: got %v, want the given error", err)
	}
	f.Verify(t)
}

func TestNthAndRepeat(t *testing.T) {
	for _, tc := range []struct {
		nth, repeat int
		want        string // per call: x fails, . passes
	}{
		{nth: 2, repeat: 2, want: ".xx..."},
		{nth: 3, repeat: 0, want: "..x..."},
		{nth: 1, repeat: 1, want: "x....."},
		{nth: 4, repeat: -1, want: "...xxx"},
		{nth: 0, repeat: 2, want: "xxxxxx"},
	} {
		t.Run(fmt.Sprintf("nth%d_repeat%d", tc.nth, tc.repeat), func(t *testing.T) {
			f := newFaulty(t)
			id := f.Add(remotetest.Fault{Op: remotetest.OpDelete, Nth: tc.nth, Repeat: tc.repeat})
			got := ""
			for range len(tc.want) {
				if f.Delete(t.Context(), key1) != nil {
					got += "x"
				} else {
					got += "."
				}
			}
			if got != tc.want {
				t.Errorf("got %s, want %s", got, tc.want)
			}
			if n := f.Fired(id); n != bytes.Count([]byte(got), []byte("x")) {
				t.Errorf("Fired = %d for %s", n, got)
			}
		})
	}
}

func TestMatchTypeAndName(t *testing.T) {
	f := newFaulty(t)
	f.Add(remotetest.Fault{Op: remotetest.OpGet, Type: remote.Data})
	named := errors.New("named")
	f.Add(remotetest.Fault{Name: "k1", Err: named})
	if _, err := read(t.Context(), f, data1); !errors.Is(err, remotetest.ErrInjected) {
		t.Errorf("get data: got %v, want ErrInjected", err)
	}
	for _, err := range []error{f.Delete(t.Context(), key1), f.Put(t.Context(), key1, remote.Bytes(nil))} {
		if !errors.Is(err, named) {
			t.Errorf("op on k1: got %v, want the named fault", err)
		}
	}
	if err := f.List(t.Context(), remote.Key, func(remote.Info) error { return nil }); err != nil {
		t.Errorf("list: a named fault must not match a listing, got %v", err)
	}
	if _, err := f.Stat(t.Context(), remote.Handle{Type: remote.Key, Name: "k2"}); !errors.Is(err, remote.ErrNotFound) {
		t.Errorf("stat k2: got %v, want the store's ErrNotFound", err)
	}
	f.Verify(t)
}

func TestPutLostAndPrefix(t *testing.T) {
	f := newFaulty(t)
	lost := remote.Handle{Type: remote.Data, Name: "lost"}
	f.Add(remotetest.Fault{Op: remotetest.OpPut, Name: "lost", Nth: 1, Kind: remotetest.PutLost})
	f.Add(remotetest.Fault{Op: remotetest.OpPut, Name: "d1", Nth: 1, Kind: remotetest.PutPrefix, Keep: 3})
	f.Add(remotetest.Fault{Op: remotetest.OpPut, Name: "k1", Nth: 1, Kind: remotetest.PutPrefix, Keep: 99})
	for _, h := range []remote.Handle{lost, data1, key1} {
		if err := f.Put(t.Context(), h, remote.Bytes([]byte("abcdef"))); err != nil {
			t.Fatalf("put %s: a lying put must report success, got %v", h, err)
		}
	}
	if _, err := f.Stat(t.Context(), lost); !errors.Is(err, remote.ErrNotFound) {
		t.Errorf("stat after PutLost: got %v, want ErrNotFound", err)
	}
	for h, want := range map[remote.Handle]string{data1: "abc", key1: "abcde"} {
		if got, err := read(t.Context(), f, h); err != nil || string(got) != want {
			t.Errorf("get %s after PutPrefix: got %q %v, want %q", h, got, err, want)
		}
	}
	f.Verify(t)
}

func TestGetTruncate(t *testing.T) {
	f := newFaulty(t)
	f.Add(remotetest.Fault{Op: remotetest.OpGet, Nth: 1, Kind: remotetest.GetTruncate, Keep: 4})
	f.Add(remotetest.Fault{Op: remotetest.OpGet, Nth: 2, Kind: remotetest.GetTruncate})
	got, err := read(t.Context(), f, key1)
	if err != nil || string(got) != "0123" {
		t.Errorf("truncated get: got %q %v, want \"0123\" and a clean end", got, err)
	}
	// ReadAll must notice a short body, even an empty one.
	if _, err := remote.ReadAll(t.Context(), f, key1, 2, 5, 100); !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Errorf("ReadAll of an empty body: got %v, want io.ErrUnexpectedEOF", err)
	}
	f.Verify(t)
}

func TestGetFlip(t *testing.T) {
	f := newFaulty(t)
	f.Add(remotetest.Fault{Op: remotetest.OpGet, Nth: 0, Kind: remotetest.GetFlip, Seed: 7})
	first, err := read(t.Context(), f, key1)
	if err != nil {
		t.Fatal(err)
	}
	diff := 0
	for i := range first {
		if first[i] != "0123456789"[i] {
			diff++
		}
	}
	if len(first) != 10 || diff != 1 {
		t.Errorf("flipped get: got %q, want one byte changed", first)
	}
	if again, _ := read(t.Context(), f, key1); !bytes.Equal(again, first) {
		t.Errorf("the same seed flipped another byte: %q then %q", first, again)
	}
	f.Verify(t)
}

func TestListShort(t *testing.T) {
	f := newFaulty(t)
	for _, name := range []string{"k2", "k3", "k4"} {
		if err := f.Put(t.Context(), remote.Handle{Type: remote.Key, Name: name}, remote.Bytes(nil)); err != nil {
			t.Fatal(err)
		}
	}
	f.Add(remotetest.Fault{Op: remotetest.OpList, Type: remote.Key, Nth: 1, Kind: remotetest.ListShort, Keep: 2})
	f.Add(remotetest.Fault{Op: remotetest.OpList, Nth: 2, Kind: remotetest.ListShort})
	for _, want := range []int{2, 0, 4} {
		n := 0
		if err := f.List(t.Context(), remote.Key, func(remote.Info) error { n++; return nil }); err != nil {
			t.Fatalf("a lying listing must not fail: %v", err)
		}
		if n != want {
			t.Errorf("list: got %d objects, want %d", n, want)
		}
	}
	f.Verify(t)
}

func TestHang(t *testing.T) {
	f := newFaulty(t)
	f.Add(remotetest.Fault{Kind: remotetest.Hang, Nth: 0})
	ctx, cancel := context.WithTimeout(t.Context(), 20*time.Millisecond)
	defer cancel()
	err := f.List(ctx, remote.Data, func(remote.Info) error { return nil })
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("hung list: got %v, want context.DeadlineExceeded", err)
	}
	if ctx.Err() == nil {
		t.Error("hung list returned before its context was done")
	}
	if _, err := f.Stat(ctx, key1); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("hung stat: got %v", err)
	}
	f.Verify(t)
}

// TestCalls counts calls per operation and type, faulted or not.
func TestCalls(t *testing.T) {
	f := newFaulty(t) // two puts: keys and data
	f.Add(remotetest.Fault{Op: remotetest.OpGet})
	_, _ = read(t.Context(), f, data1)
	_, _ = f.Stat(t.Context(), key1)
	if got := f.Calls(remotetest.OpPut); got != 2 {
		t.Errorf("Calls(put) = %d, want 2", got)
	}
	if got := f.Calls(remotetest.OpPut, remote.Data); got != 1 {
		t.Errorf("Calls(put, data) = %d, want 1", got)
	}
	if got := f.Calls(remotetest.OpPut, remote.Snapshot, remote.Index); got != 0 {
		t.Errorf("Calls(put, snapshots, index) = %d, want 0", got)
	}
	if f.Calls(remotetest.OpGet) != 1 || f.Calls(remotetest.OpStat, remote.Key) != 1 {
		t.Errorf("get %d, stat %d, want 1 each", f.Calls(remotetest.OpGet), f.Calls(remotetest.OpStat))
	}
}

// recorder is a testing.TB that records failures instead of failing the real test.
type recorder struct {
	testing.TB
	errs []string
}

func (r *recorder) Errorf(format string, args ...any) {
	r.errs = append(r.errs, fmt.Sprintf(format, args...))
}
func (r *recorder) Fatalf(format string, args ...any) { r.Errorf(format, args...) }

func TestVerifyCatchesUnfired(t *testing.T) {
	f := newFaulty(t)
	fired := f.Add(remotetest.Fault{Op: remotetest.OpStat})
	f.Add(remotetest.Fault{Op: remotetest.OpStat}) // shadowed by the first
	f.Add(remotetest.Fault{Op: remotetest.OpDelete, Name: "never"})
	f.Add(remotetest.Fault{Op: remotetest.OpStat, Kind: remotetest.PutLost}) // wrong operation
	f.Add(remotetest.Fault{Op: remotetest.OpStat, Nth: 3})                   // too few calls
	_, _ = f.Stat(t.Context(), key1)
	_, _ = f.Stat(t.Context(), key1)
	if f.Fired(fired) != 2 {
		t.Errorf("Fired = %d, want 2", f.Fired(fired))
	}
	if got := len(f.Unfired()); got != 4 {
		t.Errorf("Unfired: %d faults, want 4", got)
	}
	rec := &recorder{TB: t}
	f.Verify(rec)
	if len(rec.errs) != 4 {
		t.Errorf("Verify reported %d faults, want 4: %q", len(rec.errs), rec.errs)
	}
}

// TestConcurrentFiring: under -race, a fault fires exactly as scripted however the
// calls interleave.
func TestConcurrentFiring(t *testing.T) {
	f := newFaulty(t)
	id := f.Add(remotetest.Fault{Op: remotetest.OpGet, Nth: 5, Repeat: 7})
	var g errgroup.Group
	failed := make([]int, 8)
	for w := range 8 {
		g.Go(func() error {
			for range 10 {
				if _, err := read(t.Context(), f, key1); err != nil {
					failed[w]++
				}
			}
			return nil
		})
	}
	_ = g.Wait()
	total := 0
	for _, n := range failed {
		total += n
	}
	if total != 7 || f.Fired(id) != 7 || f.Calls(remotetest.OpGet) != 80 {
		t.Errorf("failed %d, fired %d, calls %d; want 7, 7, 80", total, f.Fired(id), f.Calls(remotetest.OpGet))
	}
}
