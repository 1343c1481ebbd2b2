package s3_test

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"testing"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/cairn-backup/cairn/remote"
	"github.com/cairn-backup/cairn/remote/retry"
	"github.com/cairn-backup/cairn/remote/s3"
	"github.com/cairn-backup/cairn/remote/s3/s3test"
)

// proxied starts a fault proxy before srv and a store (in a fresh bucket) through it.
func proxied(t *testing.T, cfg s3test.Config) (*s3test.FaultProxy, *s3.Store) {
	t.Helper()
	srv := s3test.Need(t)
	cfg.Upstream, cfg.AccessKey, cfg.SecretKey = srv.Endpoint, srv.AccessKey, srv.SecretKey
	p, err := s3test.StartFaultProxy(t.Context(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := p.Close(); err != nil {
			t.Errorf("close proxy: %v", err)
		}
	})
	via := &s3test.Server{Endpoint: p.URL, AccessKey: srv.AccessKey, SecretKey: srv.SecretKey}
	return p, create(t, via, options(srv))
}

// pack returns random bytes and a data handle named by their hash, like a real pack.
func pack(rng *rand.Rand, size int) (remote.Handle, []byte) {
	data := make([]byte, size)
	for i := range data {
		data[i] = byte(rng.Uint32())
	}
	sum := sha256.Sum256(data)
	return remote.Handle{Type: remote.Data, Name: hex.EncodeToString(sum[:])}, data
}

func TestLyingPut(t *testing.T) {
	p, st := proxied(t, s3test.Config{Seed: 1})
	rng := rand.New(rand.NewPCG(1, 2))
	for _, tc := range []struct {
		kind s3test.Kind
		typ  remote.Type
	}{
		{s3test.LiePut, remote.Data}, {s3test.LiePut, remote.Index},
		{s3test.PrefixPut, remote.Data}, {s3test.PrefixPut, remote.Snapshot},
	} {
		h, data := pack(rng, 5000)
		h.Type = tc.typ
		p.Script(s3test.OpPut, tc.kind)
		err := st.Put(t.Context(), h, remote.Bytes(data))
		if !errors.Is(err, s3.ErrUnconfirmed) {
			t.Errorf("%v of %s: put returned %v, want ErrUnconfirmed", tc.kind, tc.typ, err)
		}
		if errors.Is(err, remote.ErrNotFound) {
			t.Errorf("%v: a lost upload must not look like an absent object: %v", tc.kind, err)
		}
		// Through the retry decorator the next attempt stores the object whole.
		p.Script(s3test.OpPut, tc.kind)
		r := retry.New(st, retry.Options{Budget: time.Minute, BaseDelay: 10 * time.Millisecond})
		if err := r.Put(t.Context(), h, remote.Bytes(data)); err != nil {
			t.Fatalf("%v: put through retry: %v", tc.kind, err)
		}
		got, err := remote.ReadAll(t.Context(), st, h, 0, 0, 1<<20)
		if err != nil || !bytes.Equal(got, data) {
			t.Errorf("%v: read back %d bytes, %v; want %d", tc.kind, len(got), err, len(data))
		}
	}
	if p.Fired(s3test.LiePut) != 4 || p.Fired(s3test.PrefixPut) != 4 {
		t.Errorf("faults fired: LiePut %d, PrefixPut %d, want 4 each", p.Fired(s3test.LiePut), p.Fired(s3test.PrefixPut))
	}
}

// TestFaultsWithRetry puts and reads back 200 objects through a proxy that breaks 20%
// of all requests, with the decorator cairn uses around S3.
func TestFaultsWithRetry(t *testing.T) {
	p, st := proxied(t, s3test.Config{Seed: 42, Rate: 0.2, Hang: 200 * time.Millisecond})
	r := retry.New(st, retry.Options{Budget: time.Minute, BaseDelay: 50 * time.Millisecond, MaxDelay: time.Second})
	rng := rand.New(rand.NewPCG(42, 42))
	objs := make(map[remote.Handle][]byte)
	for range 200 {
		h, data := pack(rng, 1+rng.IntN(64<<10))
		objs[h] = data
	}
	start := time.Now()
	g, ctx := errgroup.WithContext(t.Context())
	g.SetLimit(8)
	for h, data := range objs {
		g.Go(func() error { return r.Put(ctx, h, remote.Bytes(data)) })
	}
	if err := g.Wait(); err != nil {
		t.Fatalf("put: %v", err)
	}
	g, ctx = errgroup.WithContext(t.Context())
	g.SetLimit(8)
	for h, data := range objs {
		g.Go(func() error {
			got, err := remote.ReadAll(ctx, r, h, 0, int64(len(data)), 1<<20)
			if err == nil && !bytes.Equal(got, data) {
				err = fmt.Errorf("get %s: %d bytes differ from the %d put", h, len(got), len(data))
			}
			return err
		})
	}
	if err := g.Wait(); err != nil {
		t.Fatalf("get: %v", err)
	}
	c := p.Counts()
	t.Logf("%v; requests %+v", time.Since(start).Round(time.Millisecond), c)
	for _, k := range s3test.Transient {
		if p.Fired(k) == 0 {
			t.Errorf("fault %v never fired", k)
		}
	}
	if c.Faults < 100 {
		t.Errorf("only %d faults fired", c.Faults)
	}
}

func TestProxyFaultsReachTheStore(t *testing.T) {
	p, st := proxied(t, s3test.Config{Seed: 7})
	rng := rand.New(rand.NewPCG(7, 7))
	h, data := pack(rng, 4096)
	if err := st.Put(t.Context(), h, remote.Bytes(data)); err != nil {
		t.Fatal(err)
	}
	p.Script(s3test.OpGet, s3test.Truncate)
	if _, err := remote.ReadAll(t.Context(), st, h, 0, 0, 1<<20); !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Errorf("truncated body: got %v, want io.ErrUnexpectedEOF", err)
	}
	// A flipped byte passes the storage layer; the repository's hashes catch it.
	p.Script(s3test.OpGet, s3test.Flip)
	got, err := remote.ReadAll(t.Context(), st, h, 0, 0, 1<<20)
	if err != nil || len(got) != len(data) || bytes.Equal(got, data) {
		t.Errorf("flipped body: %d bytes, %v; want all, one byte changed", len(got), err)
	}
	for _, k := range []s3test.Kind{s3test.EmptyList, s3test.ShortList} {
		p.Script(s3test.OpList, k)
		n := 0
		if err := st.List(t.Context(), remote.Data, func(remote.Info) error { n++; return nil }); err != nil || n != 0 {
			t.Errorf("%v: listed %d, %v; want a silent lie of 0 objects", k, n, err)
		}
	}
	p.Script(s3test.OpHead, s3test.ServerError)
	p.Script(s3test.OpHead, s3test.ServerError)
	p.Script(s3test.OpHead, s3test.SlowDown)
	if _, err := st.Stat(t.Context(), h); !errors.Is(err, remote.ErrSlowDown) {
		t.Errorf("stat after 3 faults: got %v, want ErrSlowDown once minio-go's retries are spent", err)
	}
}

// The slow and subtle kinds: a trickled body arrives whole; a ranged GET answered
// with half the range (a consistent 206) is caught by the store; a stale listing
// leaves out what was just written; Ops keeps random faults to the verbs named.
func TestProxySlowAndSubtleFaults(t *testing.T) {
	p, st := proxied(t, s3test.Config{Seed: 5, Rate: 1, Ops: []s3test.Op{s3test.OpDelete},
		Kinds: []s3test.Kind{s3test.ServerError}, Trickle: time.Millisecond, Stale: time.Hour})
	rng := rand.New(rand.NewPCG(5, 5))
	h, data := pack(rng, 64<<10)
	if err := st.Put(t.Context(), h, remote.Bytes(data)); err != nil {
		t.Fatalf("put with faults on DELETE only: %v", err)
	}
	if _, err := st.Stat(t.Context(), h); err != nil || p.Counts().Faults != 0 {
		t.Fatalf("stat with faults on DELETE only: %v, %d faults", err, p.Counts().Faults)
	}
	p.Script(s3test.OpGet, s3test.Trickle)
	start := time.Now()
	got, err := remote.ReadAll(t.Context(), st, h, 0, 0, 1<<20)
	if err != nil || !bytes.Equal(got, data) {
		t.Fatalf("trickled body: %d bytes, %v", len(got), err)
	}
	if d := time.Since(start); d < 16*time.Millisecond {
		t.Errorf("64 KiB trickled in %v: not slowed", d)
	}
	p.Script(s3test.OpGet, s3test.ShortRange)
	if got, err := remote.ReadAll(t.Context(), st, h, 100, 1000, 1<<20); err == nil {
		t.Errorf("a 206 with half the range asked: %d bytes, no error", len(got))
	}
	if p.Fired(s3test.ShortRange) != 1 {
		t.Errorf("short range fired %d times", p.Fired(s3test.ShortRange))
	}
	p.ScriptList("", s3test.StaleList, 1)
	n := 0
	if err := st.List(t.Context(), remote.Data, func(remote.Info) error { n++; return nil }); err != nil || n != 0 {
		t.Errorf("stale listing: %d objects, %v; want the one just written left out", n, err)
	}
	if err := st.List(t.Context(), remote.Data, func(remote.Info) error { n++; return nil }); err != nil || n != 1 {
		t.Errorf("listing after the stale one: %d objects, %v", n, err)
	}
}
