package remotetest

import (
	"errors"
	"testing"
	"time"

	"github.com/cairn-backup/cairn/remote"
)

// TempStore is a store that keeps temporary files beside its objects.
type TempStore interface {
	remote.Storage
	remote.TempLister
}

// LeaveTemp leaves in s the temporary file a Put of h killed part way would leave,
// with data and the given time of its last write, and returns the name ListTemp must
// report. Only the backend knows how its Puts write, so each supplies its own.
type LeaveTemp func(t *testing.T, s TempStore, h remote.Handle, data []byte, modTime time.Time) string

// RunTemp is the conformance suite of remote.TempLister: what a killed Put leaves is
// listed with its size and time, and can be deleted, but never as an object, and no
// object can be deleted as a temporary file.
func RunTemp(t *testing.T, open func(t *testing.T) TempStore, leave LeaveTemp) {
	t.Run("NoneAfterPuts", func(t *testing.T) {
		s := open(t)
		rng := newRand(t)
		for _, typ := range remote.Types {
			h := remote.Handle{Type: typ}
			if typ != remote.Config {
				h.Name = randomName(rng)
			}
			put(t, s, h, randomBytes(rng, 10))
		}
		if got := listTemp(t, s); len(got) != 0 {
			t.Errorf("temporary files after Puts that finished: %v", got)
		}
	})
	t.Run("ListAndDelete", func(t *testing.T) { testTempListDelete(t, open(t), leave) })
	t.Run("ListStops", func(t *testing.T) {
		s := open(t)
		rng := newRand(t)
		for range 3 {
			leave(t, s, remote.Handle{Type: remote.Index, Name: randomName(rng)}, []byte("x"), time.Now())
		}
		stop, calls := errors.New("stop"), 0
		err := s.ListTemp(t.Context(), func(remote.Info) error { calls++; return stop })
		if !errors.Is(err, stop) || calls != 1 {
			t.Errorf("ListTemp with fn failing: %v after %d calls; want fn's error after 1", err, calls)
		}
	})
}

func testTempListDelete(t *testing.T, s TempStore, leave LeaveTemp) {
	rng := newRand(t)
	obj := remote.Handle{Type: remote.Data, Name: randomName(rng)}
	put(t, s, obj, randomBytes(rng, 50))
	old := time.Now().Add(-48 * time.Hour).Truncate(time.Second)
	want := map[string]int64{}
	for i, typ := range []remote.Type{remote.Data, remote.Index, remote.Snapshot, remote.Config} {
		h := remote.Handle{Type: typ}
		if typ != remote.Config {
			h.Name = randomName(rng)
		}
		want[leave(t, s, h, randomBytes(rng, 100+i), old)] = int64(100 + i)
	}
	got := listTemp(t, s)
	if len(got) != len(want) {
		t.Fatalf("ListTemp: %v, want %v", got, want)
	}
	for name, size := range want {
		i, ok := got[name]
		if !ok || i.Size != size || i.ModTime.Sub(old).Abs() > skewAllowed {
			t.Errorf("ListTemp %s: %+v (listed %v), want %d bytes of %v", name, i, ok, size, old)
		}
	}
	if names, _ := list(t, s, remote.Data); len(names) != 1 {
		t.Errorf("List data with a temporary file there: %v, want only %s", names, obj.Name)
	}
	for _, bad := range []string{"data/" + obj.Name[:2] + "/" + obj.Name, "data/" + obj.Name[:2] + "/../../config", "../.tmp-x", "config", ""} {
		if err := s.DeleteTemp(t.Context(), bad); !errors.Is(err, remote.ErrInvalidHandle) {
			t.Errorf("DeleteTemp(%q): %v, want ErrInvalidHandle", bad, err)
		}
	}
	wantSize(t, s, obj, 50)
	for name := range want {
		for range 2 { // the second time it is gone already: no error
			if err := s.DeleteTemp(t.Context(), name); err != nil {
				t.Errorf("DeleteTemp(%q): %v", name, err)
			}
		}
	}
	if got := listTemp(t, s); len(got) != 0 {
		t.Errorf("after DeleteTemp: %v", got)
	}
}

func listTemp(t *testing.T, s TempStore) map[string]remote.Info {
	t.Helper()
	out := map[string]remote.Info{}
	err := s.ListTemp(t.Context(), func(i remote.Info) error {
		if _, dup := out[i.Name]; dup {
			t.Errorf("ListTemp reported %s twice", i.Name)
		}
		out[i.Name] = i
		return nil
	})
	if err != nil {
		t.Fatalf("ListTemp: %v", err)
	}
	return out
}
