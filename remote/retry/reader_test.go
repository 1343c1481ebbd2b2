package retry_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cairn-backup/cairn/remote"
	"github.com/cairn-backup/cairn/remote/remotetest"
	"github.com/cairn-backup/cairn/remote/retry"
)

// breaking hands out bodies that fail after a few bytes, for its first breaks Gets.
type breaking struct {
	remote.Storage
	mu     sync.Mutex
	breaks int
	keep   int64   // bytes each broken body delivers
	gets   []int64 // offsets asked for
}

func (b *breaking) Get(ctx context.Context, h remote.Handle, offset, length int64) (io.ReadCloser, error) {
	b.mu.Lock()
	b.gets = append(b.gets, offset)
	brk := b.breaks > 0
	b.breaks--
	b.mu.Unlock()
	rc, err := b.Storage.Get(ctx, h, offset, length)
	if err != nil || !brk {
		return rc, err
	}
	return struct {
		io.Reader
		io.Closer
	}{io.MultiReader(io.LimitReader(rc, b.keep), failing{}), rc}, nil
}

type failing struct{}

func (failing) Read([]byte) (int, error) { return 0, remotetest.ErrInjected }

func TestGetResumesMidStream(t *testing.T) {
	for _, tc := range []struct {
		name           string
		offset, length int64
	}{{"whole", 0, 0}, {"range", 2, 15}, {"tail", 5, 0}} {
		t.Run(tc.name, func(t *testing.T) {
			f, _, _ := setup(t, time.Minute)
			b := &breaking{Storage: f, breaks: 3, keep: 3}
			s := retry.New(b, retry.Options{Budget: time.Minute, Clock: &fakeClock{}})
			rd, err := s.Get(t.Context(), obj, tc.offset, tc.length)
			if err != nil {
				t.Fatal(err)
			}
			got, err := io.ReadAll(rd)
			rd.Close()
			want := body[tc.offset:]
			if tc.length > 0 {
				want = want[:tc.length]
			}
			if err != nil || !bytes.Equal(got, want) {
				t.Fatalf("read: %q, %v; want %q", got, err, want)
			}
			wantGets := []int64{tc.offset, tc.offset + 3, tc.offset + 6, tc.offset + 9}
			if !equal(b.gets, wantGets) {
				t.Errorf("gets at %v, want %v: each resumes where the last broke", b.gets, wantGets)
			}
		})
	}
}

func equal(a, b []int64) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func TestGetTruncatedIsResumed(t *testing.T) {
	f, s, _ := setup(t, time.Minute)
	// The inner store cuts the body with a clean EOF: the known length exposes it.
	f.Add(remotetest.Fault{Op: remotetest.OpGet, Nth: 1, Repeat: 2, Kind: remotetest.GetTruncate, Keep: 4})
	got, err := remote.ReadAll(t.Context(), s, obj, 0, int64(len(body)), 1<<20)
	if err != nil || !bytes.Equal(got, body) {
		t.Fatalf("read: %q, %v; want %q", got, err, body)
	}
	f.Verify(t)
}

func TestGetGivesUpMidStream(t *testing.T) {
	f, _, _ := setup(t, time.Minute)
	b := &breaking{Storage: f, breaks: 1, keep: 3}
	clock := &fakeClock{}
	s := retry.New(b, retry.Options{Budget: time.Minute, Clock: clock})
	rd, err := s.Get(t.Context(), obj, 0, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer rd.Close()
	// From now on every body fails at once: no progress, so the budget runs out.
	b.mu.Lock()
	b.breaks, b.keep = 1<<30, 0
	b.mu.Unlock()
	got, err := io.ReadAll(rd)
	if !errors.Is(err, remotetest.ErrInjected) || !strings.Contains(err.Error(), "gave up after 1m0s") {
		t.Fatalf("read: got %v, want the injected error after the budget", err)
	}
	if !bytes.Equal(got, body[:3]) {
		t.Errorf("read %q before giving up, want %q", got, body[:3])
	}
	if clock.elapsed() != time.Minute {
		t.Errorf("slept %v, want the budget", clock.elapsed())
	}
}
