package remotetest

import (
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"testing"

	"golang.org/x/sync/errgroup"

	"github.com/cairn-backup/cairn/remote"
)

func testList(t *testing.T, s remote.Storage) {
	rng := newRand(t)
	want := make(map[remote.Type][]string)
	sizes := make(map[string]int64)
	counts := []struct {
		typ remote.Type
		n   int
	}{{remote.Key, 3}, {remote.Snapshot, 2}, {remote.Index, 1}, {remote.Data, 6}}
	for _, c := range counts {
		typ := c.typ
		for i := range c.n {
			name := randomName(rng)
			if typ == remote.Data && i%2 == 1 {
				// Share the first two characters with the previous name: one shard.
				name = want[typ][i-1][:2] + name[2:]
			}
			data := randomBytes(rng, 10+i)
			put(t, s, remote.Handle{Type: typ, Name: name}, data)
			want[typ] = append(want[typ], name)
			sizes[name] = int64(len(data))
		}
	}
	checkListing(t, s, "after put", want, sizes)
	for _, typ := range []remote.Type{remote.Key, remote.Data} {
		for _, name := range want[typ][:2] {
			if err := s.Delete(t.Context(), remote.Handle{Type: typ, Name: name}); err != nil {
				t.Fatalf("delete %s/%s: %v", typ, name, err)
			}
		}
		want[typ] = want[typ][2:]
	}
	checkListing(t, s, "after delete", want, sizes)
}

// checkListing compares the listing of every type with the names and sizes put.
func checkListing(t *testing.T, s remote.Storage, stage string, want map[remote.Type][]string, sizes map[string]int64) {
	t.Helper()
	for _, typ := range remote.Types {
		got, gotSizes := list(t, s, typ)
		exp := slices.Sorted(slices.Values(want[typ]))
		if !slices.Equal(got, exp) {
			t.Errorf("%s: list %s: got %q, want %q", stage, typ, got, exp)
		}
		for _, name := range got {
			if gotSizes[name] != sizes[name] {
				t.Errorf("%s: list %s: %s has size %d, want %d", stage, typ, name, gotSizes[name], sizes[name])
			}
		}
	}
}

func testListStops(t *testing.T, s remote.Storage) {
	rng := newRand(t)
	for range 5 {
		put(t, s, remote.Handle{Type: remote.Snapshot, Name: randomName(rng)}, []byte("s"))
	}
	stop := errors.New("stop here")
	calls := 0
	err := s.List(t.Context(), remote.Snapshot, func(remote.Info) error {
		calls++
		if calls == 2 {
			return stop
		}
		return nil
	})
	if !errors.Is(err, stop) {
		t.Errorf("list: got %v, want the error of fn", err)
	}
	if calls != 2 {
		t.Errorf("list went on after fn failed: %d calls, want 2", calls)
	}
}

func testDelete(t *testing.T, s remote.Storage) {
	rng := newRand(t)
	for _, typ := range remote.Types {
		h := remote.Handle{Type: typ}
		if typ != remote.Config {
			h.Name = randomName(rng)
		}
		if err := s.Delete(t.Context(), h); err != nil {
			t.Errorf("delete missing %s: %v", h, err)
		}
		put(t, s, h, []byte("doomed"))
		if err := s.Delete(t.Context(), h); err != nil {
			t.Fatalf("delete %s: %v", h, err)
		}
		if _, err := s.Stat(t.Context(), h); !errors.Is(err, remote.ErrNotFound) {
			t.Errorf("stat %s after delete: got %v, want ErrNotFound", h, err)
		}
		if rd, err := s.Get(t.Context(), h, 0, 0); !errors.Is(err, remote.ErrNotFound) {
			t.Errorf("get %s after delete: got %v, want ErrNotFound", h, err)
			if err == nil {
				rd.Close()
			}
		}
		if err := s.Delete(t.Context(), h); err != nil {
			t.Errorf("delete %s twice: %v", h, err)
		}
	}
}

func testReplace(t *testing.T, s remote.Storage) {
	rng := newRand(t)
	h := remote.Handle{Type: remote.Index, Name: randomName(rng)}
	for _, size := range []int{1000, 10, 5000, 0} {
		data := randomBytes(rng, size)
		put(t, s, h, data)
		sameBytes(t, fmt.Sprintf("after put of %d bytes", size), get(t, s, h, 0, 0), data)
		wantSize(t, s, h, int64(size))
		names, sizes := list(t, s, remote.Index)
		if len(names) != 1 || sizes[h.Name] != int64(size) {
			t.Errorf("list after replace: got %q %v, want one object of %d bytes", names, sizes, size)
		}
	}
}

func testInvalidHandles(t *testing.T, s remote.Storage) {
	ctx := t.Context()
	for _, h := range []remote.Handle{
		{Type: remote.Data, Name: ""},
		{Type: remote.Data, Name: "../x"},
		{Type: remote.Key, Name: "a/b"},
		{Type: remote.Snapshot, Name: ".tmp-x"},
		{Type: remote.Index, Name: ".."},
		{Type: remote.Lock, Name: "a\x00b"},
		{Type: remote.Data, Name: strings.Repeat("a", 129)},
		{Type: "bogus", Name: "x"},
		{Type: "", Name: "x"},
		{Type: remote.Config, Name: "x"},
	} {
		errs := map[string]error{"put": s.Put(ctx, h, remote.Bytes([]byte("x"))), "delete": s.Delete(ctx, h)}
		_, errs["stat"] = s.Stat(ctx, h)
		rd, err := s.Get(ctx, h, 0, 0)
		if err == nil {
			rd.Close()
		}
		errs["get"] = err
		for op, err := range errs {
			if !errors.Is(err, remote.ErrInvalidHandle) {
				t.Errorf("%s %q %q: got %v, want ErrInvalidHandle", op, h.Type, h.Name, err)
			}
		}
	}
	for _, typ := range []remote.Type{"bogus", "", "data/"} {
		err := s.List(ctx, typ, func(remote.Info) error { return nil })
		if !errors.Is(err, remote.ErrInvalidHandle) {
			t.Errorf("list %q: got %v, want ErrInvalidHandle", typ, err)
		}
	}
	for _, typ := range remote.Types {
		if names, _ := list(t, s, typ); len(names) != 0 {
			t.Errorf("list %s after invalid puts: got %q, want nothing", typ, names)
		}
	}
}

func testConfig(t *testing.T, s remote.Storage) {
	h := remote.Handle{Type: remote.Config}
	if _, err := s.Stat(t.Context(), h); !errors.Is(err, remote.ErrNotFound) {
		t.Errorf("stat config of an empty store: got %v, want ErrNotFound", err)
	}
	if names, _ := list(t, s, remote.Config); len(names) != 0 {
		t.Errorf("list config of an empty store: got %q", names)
	}
	data := randomBytes(newRand(t), 300)
	put(t, s, h, data)
	sameBytes(t, "config", get(t, s, h, 0, 0), data)
	sameBytes(t, "config range", get(t, s, h, 10, 20), data[10:30])
	wantSize(t, s, h, int64(len(data)))
	names, sizes := list(t, s, remote.Config)
	if len(names) != 1 || names[0] != "" || sizes[""] != int64(len(data)) {
		t.Errorf("list config: got %q %v, want one unnamed object of %d bytes", names, sizes, len(data))
	}
	for _, typ := range remote.Types[1:] {
		if names, _ := list(t, s, typ); len(names) != 0 {
			t.Errorf("list %s: got %q, want nothing beside the config", typ, names)
		}
	}
	if err := s.Delete(t.Context(), h); err != nil {
		t.Fatalf("delete config: %v", err)
	}
	if names, _ := list(t, s, remote.Config); len(names) != 0 {
		t.Errorf("list config after delete: got %q", names)
	}
}

// testConcurrent puts and reads 32 objects from 8 goroutines, then reads them all from
// 8 goroutines at once.
func testConcurrent(t *testing.T, s remote.Storage) {
	rng := newRand(t)
	objs := make(map[remote.Handle][]byte)
	for i := range 32 {
		h := remote.Handle{Type: remote.Data, Name: randomName(rng)}
		objs[h] = randomBytes(rng, 1000+i*2011)
	}
	g, ctx := errgroup.WithContext(t.Context())
	g.SetLimit(8)
	for h, data := range objs {
		g.Go(func() error {
			if err := s.Put(ctx, h, remote.Bytes(data)); err != nil {
				return err
			}
			return readBack(ctx, s, h, data)
		})
	}
	if err := g.Wait(); err != nil {
		t.Fatal(err)
	}
	g, ctx = errgroup.WithContext(t.Context())
	for range 8 {
		g.Go(func() error {
			for h, data := range objs {
				if err := readBack(ctx, s, h, data); err != nil {
					return err
				}
			}
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		t.Fatal(err)
	}
	if names, _ := list(t, s, remote.Data); len(names) != len(objs) {
		t.Errorf("list: got %d objects, want %d", len(names), len(objs))
	}
}

// testConcurrentReplace replaces one object over and over while others read it: every
// read must return one whole version, never a mix or a prefix.
func testConcurrentReplace(t *testing.T, s remote.Storage) {
	rng := newRand(t)
	h := remote.Handle{Type: remote.Snapshot, Name: randomName(rng)}
	var versions [][]byte
	whole := make(map[string]bool)
	for i := range 6 {
		v := randomBytes(rng, 64<<10+i*1000)
		versions = append(versions, v)
		whole[string(v)] = true
	}
	put(t, s, h, versions[0])
	g, ctx := errgroup.WithContext(t.Context())
	for w := range 4 {
		g.Go(func() error {
			for i := range 10 {
				if err := s.Put(ctx, h, remote.Bytes(versions[(w+i)%len(versions)])); err != nil {
					return err
				}
			}
			return nil
		})
		g.Go(func() error {
			for range 20 {
				data, err := readAll(ctx, s, h)
				if err != nil {
					return err
				}
				if !whole[string(data)] {
					return fmt.Errorf("get %s: %d bytes that are no version put", h, len(data))
				}
			}
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		t.Fatal(err)
	}
}

// testCancelled checks that a Put under a cancelled context fails and leaves nothing
// visible: neither a new object nor a change to an existing one.
func testCancelled(t *testing.T, s remote.Storage) {
	rng := newRand(t)
	old := remote.Handle{Type: remote.Data, Name: randomName(rng)}
	oldData := randomBytes(rng, 100)
	put(t, s, old, oldData)
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	fresh := remote.Handle{Type: remote.Data, Name: randomName(rng)}
	for _, h := range []remote.Handle{fresh, old} {
		if err := s.Put(ctx, h, remote.Bytes(randomBytes(rng, 200))); !errors.Is(err, context.Canceled) {
			t.Errorf("put %s with a cancelled context: got %v, want context.Canceled", h, err)
		}
	}
	if _, err := s.Stat(t.Context(), fresh); !errors.Is(err, remote.ErrNotFound) {
		t.Errorf("stat %s after a cancelled put: got %v, want ErrNotFound", fresh, err)
	}
	sameBytes(t, "object replaced under a cancelled context", get(t, s, old, 0, 0), oldData)
	if names, _ := list(t, s, remote.Data); len(names) != 1 {
		t.Errorf("list after cancelled puts: got %q, want only %s", names, old.Name)
	}
}

// readBack is a goroutine-safe comparison: it returns an error instead of failing t.
func readBack(ctx context.Context, s remote.Storage, h remote.Handle, want []byte) error {
	got, err := readAll(ctx, s, h)
	if err != nil {
		return err
	}
	if string(got) != string(want) {
		return fmt.Errorf("get %s: got %d bytes, want %d, contents differ", h, len(got), len(want))
	}
	return nil
}

func readAll(ctx context.Context, s remote.Storage, h remote.Handle) ([]byte, error) {
	rd, err := s.Get(ctx, h, 0, 0)
	if err != nil {
		return nil, err
	}
	defer rd.Close()
	data, err := io.ReadAll(rd)
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", h, err)
	}
	return data, nil
}
