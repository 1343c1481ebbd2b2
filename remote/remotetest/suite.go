package remotetest

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/cairn-backup/cairn/remote"
)

// Run is the conformance suite of remote.Storage: every backend must pass it. Each
// subtest gets a fresh, empty store from open and closes it at the end; open should
// register any further cleanup with t.Cleanup. Run the suite under -race.
func Run(t *testing.T, open func(t *testing.T) remote.Storage) {
	tests := []struct {
		name string
		fn   func(*testing.T, remote.Storage)
	}{
		{"Location", testLocation},
		{"RoundTrip", testRoundTrip},
		{"EveryType", testEveryType},
		{"Ranges", testRanges},
		{"InvalidRanges", testInvalidRanges},
		{"NotFound", testNotFound},
		{"List", testList},
		{"ListStops", testListStops},
		{"Delete", testDelete},
		{"Replace", testReplace},
		{"InvalidHandles", testInvalidHandles},
		{"Config", testConfig},
		{"Concurrent", testConcurrent},
		{"ConcurrentReplace", testConcurrentReplace},
		{"Cancelled", testCancelled},
		{"ModTime", testModTime},
		{"DeleteMany", testDeleteMany},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := open(t)
			defer func() {
				if err := s.Close(); err != nil {
					t.Errorf("close: %v", err)
				}
			}()
			tc.fn(t, s)
		})
	}
}

func testLocation(t *testing.T, s remote.Storage) {
	if s.Location() == "" {
		t.Error("Location is empty")
	}
}

func testRoundTrip(t *testing.T, s remote.Storage) {
	rng := newRand(t)
	for _, size := range []int{0, 1, 4095, 4096, 1<<20 + 7} {
		h := remote.Handle{Type: remote.Data, Name: randomName(rng)}
		data := randomBytes(rng, size)
		put(t, s, h, data)
		sameBytes(t, h.String()+" whole", get(t, s, h, 0, 0), data)
		got, err := remote.ReadAll(t.Context(), s, h, 0, int64(size), int64(size))
		if err != nil {
			t.Fatalf("ReadAll %s: %v", h, err)
		}
		sameBytes(t, h.String()+" ReadAll", got, data)
		wantSize(t, s, h, int64(size))
	}
}

func testEveryType(t *testing.T, s remote.Storage) {
	rng := newRand(t)
	for _, typ := range remote.Types {
		h := remote.Handle{Type: typ}
		if typ != remote.Config {
			h.Name = randomName(rng)
		}
		data := randomBytes(rng, 100)
		put(t, s, h, data)
		sameBytes(t, h.String(), get(t, s, h, 0, 0), data)
	}
}

func testRanges(t *testing.T, s remote.Storage) {
	rng := newRand(t)
	const size = 10007
	data := randomBytes(rng, size)
	h := remote.Handle{Type: remote.Data, Name: randomName(rng)}
	put(t, s, h, data)
	for _, r := range []struct{ off, n int64 }{
		{0, 100},               // start
		{5000, 123},            // middle
		{size - 100, 100},      // tail
		{size - 1, 1},          // last byte
		{0, size},              // exactly all
		{size, 0},              // zero length at the end: empty
		{0, 0},                 // 0 length: to the end
		{1234, 0},              // to the end from the middle
		{size - 1, 0},          // to the end from the last byte
		{size / 2, size/2 + 1}, // ends exactly at the end
	} {
		want := data[r.off:]
		if r.n > 0 {
			want = data[r.off : r.off+r.n]
		}
		sameBytes(t, "range", get(t, s, h, r.off, r.n), want)
	}
}

func testInvalidRanges(t *testing.T, s remote.Storage) {
	rng := newRand(t)
	const size = 100
	full := remote.Handle{Type: remote.Data, Name: randomName(rng)}
	empty := remote.Handle{Type: remote.Data, Name: randomName(rng)}
	put(t, s, full, randomBytes(rng, size))
	put(t, s, empty, nil)
	for _, r := range []struct {
		h      remote.Handle
		off, n int64
	}{
		{full, size + 1, 0}, // starts past the end
		{full, size + 1, 1},
		{full, size, 1},       // starts at the end, ends past it
		{full, size - 10, 11}, // ends past the end
		{full, 0, size + 1},
		{full, -1, 10}, // negative
		{full, -1, 0},
		{full, 0, -1},
		{empty, 0, 1},
		{empty, 1, 0},
	} {
		rd, err := s.Get(t.Context(), r.h, r.off, r.n)
		if err == nil {
			rd.Close()
		}
		if !errors.Is(err, remote.ErrInvalidRange) {
			t.Errorf("get %s at %d+%d: got %v, want ErrInvalidRange", r.h, r.off, r.n, err)
		}
	}
	sameBytes(t, "empty object", get(t, s, empty, 0, 0), nil)
}

func testNotFound(t *testing.T, s remote.Storage) {
	rng := newRand(t)
	name := randomName(rng)
	// The same name under another type must not be found either.
	put(t, s, remote.Handle{Type: remote.Key, Name: name}, []byte("key"))
	for _, h := range []remote.Handle{
		{Type: remote.Data, Name: name},
		{Type: remote.Snapshot, Name: name},
		{Type: remote.Config},
	} {
		for _, n := range []int64{0, 1} {
			rd, err := s.Get(t.Context(), h, 0, n)
			if err == nil {
				rd.Close()
			}
			if !errors.Is(err, remote.ErrNotFound) {
				t.Errorf("get %s: got %v, want ErrNotFound", h, err)
			}
		}
		if _, err := s.Stat(t.Context(), h); !errors.Is(err, remote.ErrNotFound) {
			t.Errorf("stat %s: got %v, want ErrNotFound", h, err)
		}
		if _, err := remote.ReadAll(t.Context(), s, h, 0, 0, 1<<20); !errors.Is(err, remote.ErrNotFound) {
			t.Errorf("ReadAll %s: got %v, want ErrNotFound", h, err)
		}
	}
}

// newRand returns a generator seeded by the test's name: every run of a test sees the
// same bytes and names, so a failure reproduces.
func newRand(t *testing.T) *rand.ChaCha8 {
	return rand.NewChaCha8(sha256.Sum256([]byte(t.Name())))
}

func randomBytes(rng *rand.ChaCha8, n int) []byte {
	b := make([]byte, n)
	_, _ = rng.Read(b) // never fails
	return b
}

// randomName returns a 64-digit hex name, the shape of the repository's object IDs.
func randomName(rng *rand.ChaCha8) string {
	return hex.EncodeToString(randomBytes(rng, 32))
}

func put(t testing.TB, s remote.Storage, h remote.Handle, data []byte) {
	t.Helper()
	if err := s.Put(t.Context(), h, remote.Bytes(data)); err != nil {
		t.Fatalf("put %s: %v", h, err)
	}
}

// get reads a range whole; it fails the test on any error.
func get(t testing.TB, s remote.Storage, h remote.Handle, off, n int64) []byte {
	t.Helper()
	rd, err := s.Get(t.Context(), h, off, n)
	if err != nil {
		t.Fatalf("get %s at %d+%d: %v", h, off, n, err)
	}
	defer rd.Close()
	data, err := io.ReadAll(rd)
	if err != nil {
		t.Fatalf("read %s at %d+%d: %v", h, off, n, err)
	}
	return data
}

func wantSize(t testing.TB, s remote.Storage, h remote.Handle, size int64) {
	t.Helper()
	info, err := s.Stat(t.Context(), h)
	if err != nil {
		t.Fatalf("stat %s: %v", h, err)
	}
	if info.Size != size || info.Name != h.Name {
		t.Errorf("stat %s: got %+v, want name %q size %d", h, info, h.Name, size)
	}
}

// sameBytes compares without dumping megabytes into the log.
func sameBytes(t testing.TB, what string, got, want []byte) {
	t.Helper()
	if bytes.Equal(got, want) {
		return
	}
	i := 0
	for i < len(got) && i < len(want) && got[i] == want[i] {
		i++
	}
	t.Errorf("%s: got %d bytes, want %d; first difference at %d", what, len(got), len(want), i)
}

// list returns the sorted names and the sizes of the objects of type typ.
func list(t testing.TB, s remote.Storage, typ remote.Type) ([]string, map[string]int64) {
	t.Helper()
	var names []string
	sizes := make(map[string]int64)
	err := s.List(t.Context(), typ, func(info remote.Info) error {
		names = append(names, info.Name)
		sizes[info.Name] = info.Size
		return nil
	})
	if err != nil {
		t.Fatalf("list %s: %v", typ, err)
	}
	slices.Sort(names)
	return names, sizes
}
