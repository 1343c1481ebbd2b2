package retry_test

import (
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/cairn-backup/cairn/remote"
	"github.com/cairn-backup/cairn/remote/remotetest"
	"github.com/cairn-backup/cairn/remote/retry"
)

// Each retried failure is reported as it happens: what failed, the attempt, the wait.
func TestNotifyTellsEachRetry(t *testing.T) {
	f := remotetest.NewFaulty(remotetest.NewMem())
	if err := f.Put(t.Context(), obj, remote.Bytes(body)); err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var seen []retry.Attempt
	clock := &fakeClock{now: time.Unix(1e9, 0)}
	s := retry.New(f, retry.Options{Budget: time.Minute, Clock: clock, Notify: func(a retry.Attempt) {
		mu.Lock()
		defer mu.Unlock()
		seen = append(seen, a)
	}})
	f.Add(remotetest.Fault{Op: remotetest.OpStat, Nth: 1, Repeat: 2})
	if _, err := s.Stat(t.Context(), obj); err != nil {
		t.Fatal(err)
	}
	if len(seen) != 2 {
		t.Fatalf("notified %d times, want 2: %+v", len(seen), seen)
	}
	for i, a := range seen {
		if a.Op != "stat data/abcdef" || a.Failed != i+1 || a.Wait <= 0 || a.Wait != clock.slept[i] || a.Err == nil {
			t.Errorf("notice %d: %+v (slept %v)", i, a, clock.slept[i])
		}
	}
}

// An endpoint that cannot be reached at all gets MaxUnreachable attempts, not the
// whole budget.
func TestUnreachableGivesUpSoon(t *testing.T) {
	f := remotetest.NewFaulty(remotetest.NewMem())
	clock := &fakeClock{now: time.Unix(1e9, 0)}
	s := retry.New(f, retry.Options{Budget: time.Hour, Clock: clock})
	refused := fmt.Errorf("connection to 127.0.0.1:9 refused: %w", remote.ErrUnreachable)
	f.Add(remotetest.Fault{Op: remotetest.OpStat, Kind: remotetest.Fail, Err: refused})
	_, err := s.Stat(t.Context(), obj)
	if !errors.Is(err, remote.ErrUnreachable) {
		t.Fatalf("got %v, want ErrUnreachable", err)
	}
	if got := f.Calls(remotetest.OpStat); got != retry.MaxUnreachable {
		t.Errorf("%d attempts, want %d", got, retry.MaxUnreachable)
	}
	if clock.elapsed() > 20*time.Second {
		t.Errorf("waited %v for an unreachable endpoint", clock.elapsed())
	}
}
