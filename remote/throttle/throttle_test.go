package throttle_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"testing"
	"time"

	"github.com/cairn-backup/cairn/remote"
	"github.com/cairn-backup/cairn/remote/remotetest"
	"github.com/cairn-backup/cairn/remote/throttle"
	"golang.org/x/sync/errgroup"
)

const rate = 2 << 20 // bytes per second

// within checks that n bytes moved in d kept within 10 % of rate.
func within(t *testing.T, what string, n int, d time.Duration) {
	t.Helper()
	got := float64(n) / d.Seconds()
	if got > rate*1.1 || got < rate*0.9 {
		t.Errorf("%s: %.0f KiB/s, want %d KiB/s ± 10 %%", what, got/1024, rate>>10)
	}
}

// TestTransfersKeepTheirLimit moves 2 MiB each way in four concurrent transfers: the
// limits are shared, so together they take about a second each way. Each direction
// gets a fresh store, whose bucket starts empty (an idle one may burst a quarter of a
// second's worth).
func TestTransfersKeepTheirLimit(t *testing.T) {
	mem := remotetest.NewMem()
	data := bytes.Repeat([]byte("0123456789abcdef"), rate/16/4)
	handles := []remote.Handle{{Type: remote.Data, Name: "a0"}, {Type: remote.Data, Name: "b0"},
		{Type: remote.Data, Name: "c0"}, {Type: remote.Data, Name: "d0"}}
	each := func(fn func(h remote.Handle) error) time.Duration {
		start := time.Now()
		var g errgroup.Group
		for _, h := range handles {
			g.Go(func() error { return fn(h) })
		}
		if err := g.Wait(); err != nil {
			t.Fatal(err)
		}
		return time.Since(start)
	}
	ctx := context.Background()
	st := throttle.New(mem, rate, 0)
	within(t, "upload", 4*len(data), each(func(h remote.Handle) error {
		return st.Put(ctx, h, remote.Bytes(data))
	}))
	st = throttle.New(mem, 0, rate)
	within(t, "download", 4*len(data), each(func(h remote.Handle) error {
		rc, err := st.Get(ctx, h, 0, 0)
		if err != nil {
			return err
		}
		defer rc.Close()
		got, err := io.ReadAll(rc)
		if err == nil && !bytes.Equal(got, data) {
			t.Errorf("%s read back differs", h.Name)
		}
		return err
	}))
}

// twice reads every body once before storing it, as a backend that checksums first.
type twice struct{ remote.Storage }

func (s twice) Put(ctx context.Context, h remote.Handle, body remote.Body) error {
	if _, err := io.Copy(io.Discard, remote.Reader(body)); err != nil {
		return err
	}
	return s.Storage.Put(ctx, h, body)
}

// TestBodyReadTwicePaysOnce: a backend that reads a body twice still uploads at the
// limit, not at half of it.
func TestBodyReadTwicePaysOnce(t *testing.T) {
	data := bytes.Repeat([]byte("x"), rate)
	st := throttle.New(twice{remotetest.NewMem()}, rate, 0)
	start := time.Now()
	if err := st.Put(context.Background(), remote.Handle{Type: remote.Data, Name: "a0"}, remote.Bytes(data)); err != nil {
		t.Fatal(err)
	}
	// Paying twice would halve the rate; the bound below is looser than within's so a
	// stall of this busy test machine is not taken for that.
	if got := float64(len(data)) / time.Since(start).Seconds(); got < rate*0.75 || got > rate*1.1 {
		t.Errorf("upload read twice: %.0f KiB/s, want about %d KiB/s (half of it: paid twice)", got/1024, rate>>10)
	}
}

func TestNoLimitIsTheStoreItself(t *testing.T) {
	mem := remotetest.NewMem()
	if st := throttle.New(mem, 0, 0); st != remote.Storage(mem) {
		t.Fatalf("no limits: got %T, want the store itself", st)
	}
}

func TestWaitEndsWithContext(t *testing.T) {
	b := throttle.NewBucket(1024)
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	if err := b.Wait(ctx, 1<<20); err == nil { // a thousand seconds' worth
		t.Fatal("Wait outlived its context")
	}
}

// taker is a store that can take files by rename, as a local directory is.
type taker struct{ *remotetest.Mem }

func (taker) CreateTemp(remote.Type) (remote.TempFile, error) { return nil, errors.New("not here") }
func (taker) TakeFile(context.Context, remote.Handle, remote.TempFile, int64) error {
	return errors.New("not here")
}

// A limit hides the inner store's FileTaker: a pack taken by rename was written
// before the limit could meter it, so packs must come through Put. Without a limit
// the store itself is returned, and takes its files.
func TestLimitHidesFileTaker(t *testing.T) {
	inner := taker{remotetest.NewMem()}
	if _, ok := throttle.New(inner, rate, 0).(remote.FileTaker); ok {
		t.Error("a store with an upload limit takes files by rename")
	}
	if _, ok := throttle.New(inner, 0, 0).(remote.FileTaker); !ok {
		t.Error("a store without limits lost its FileTaker")
	}
}
