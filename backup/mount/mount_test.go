package mount

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cairn-backup/cairn/internal/digest"
	"github.com/cairn-backup/cairn/internal/repo"
	"github.com/cairn-backup/cairn/manifest"
	"golang.org/x/sync/errgroup"
)

func snap(id string, t time.Time, host string, tags ...string) repo.Snapshot {
	return repo.Snapshot{ID: digest.Of([]byte(id)), Snapshot: &manifest.Snapshot{Time: t, Host: host, Tags: tags}}
}

// show flattens a layout into "path" lines: "path/" for a directory, "path -> target"
// for a link, "path = id" for a snapshot.
func show(items []item, prefix string, out *[]string) {
	for _, it := range items {
		p := prefix + it.Name
		switch {
		case it.Snap != nil:
			*out = append(*out, p+" = "+it.Snap.ID.Short())
		case it.Link != "":
			*out = append(*out, p+" -> "+it.Link)
		default:
			*out = append(*out, p+"/")
			show(it.Children, p+"/", out)
		}
	}
}

func TestLayout(t *testing.T) {
	t0 := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	a := snap("a", t0, "web", "daily")
	b := snap("b", t0, "db/1", "daily", "db") // same second: a suffix; "/" in a host
	c := snap("c", t0.Add(time.Hour), "web")
	snaps := []repo.Snapshot{a, b, c}
	var got []string
	show(layout(snaps, time.UTC), "", &got)
	s := func(x repo.Snapshot) string { return x.ID.Short() }
	want := []string{
		"hosts/",
		"hosts/db_1/", "hosts/db_1/2026-01-02T03:04:05Z = " + s(b), "hosts/db_1/latest -> 2026-01-02T03:04:05Z",
		"hosts/web/", "hosts/web/2026-01-02T03:04:05Z = " + s(a), "hosts/web/2026-01-02T04:04:05Z = " + s(c),
		"hosts/web/latest -> 2026-01-02T04:04:05Z",
		"ids/",
	}
	ids := []string{"ids/" + s(a) + " = " + s(a), "ids/" + s(b) + " = " + s(b), "ids/" + s(c) + " = " + s(c)}
	slices.Sort(ids)
	want = append(want, ids...)
	want = append(want,
		"snapshots/", "snapshots/2026-01-02T03:04:05Z = "+s(a), "snapshots/2026-01-02T03:04:05Z-1 = "+s(b),
		"snapshots/2026-01-02T04:04:05Z = "+s(c), "snapshots/latest -> 2026-01-02T04:04:05Z",
		"tags/", "tags/daily/", "tags/daily/2026-01-02T03:04:05Z = "+s(a), "tags/daily/2026-01-02T03:04:05Z-1 = "+s(b),
		"tags/daily/latest -> 2026-01-02T03:04:05Z-1", "tags/db/", "tags/db/2026-01-02T03:04:05Z = "+s(b),
		"tags/db/latest -> 2026-01-02T03:04:05Z",
	)
	if !slices.Equal(got, want) {
		t.Errorf("layout:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if top := layout(nil, time.UTC); len(top) != 4 || len(top[2].Children) != 0 {
		t.Errorf("layout of no snapshots: %+v, want four empty directories", top)
	}
}

// counting is a loadFunc of blobs whose plaintext is size bytes of their id's first
// byte; it counts loads, and fails the ids in fail.
type counting struct {
	size  int
	loads atomic.Int64
	fail  sync.Map
	gate  chan struct{} // if set, each load waits for it
}

func (c *counting) load(ctx context.Context, id digest.ID) ([]byte, error) {
	c.loads.Add(1)
	if c.gate != nil {
		<-c.gate
	}
	if _, bad := c.fail.Load(id); bad {
		return nil, fmt.Errorf("blob %s: %w", id.Short(), repo.ErrPackMissing)
	}
	b := make([]byte, c.size)
	for i := range b {
		b[i] = id[0]
	}
	return b, nil
}

func ids(n int) []digest.ID {
	out := make([]digest.ID, n)
	for i := range out {
		out[i] = digest.Of([]byte{byte(i)})
	}
	return out
}

// The cache holds at most its limit, keeps the most recently used, and loads a blob
// once for readers that ask at the same time.
func TestBlobCacheBoundedLRU(t *testing.T) {
	src := &counting{size: 100}
	var g errgroup.Group
	c := newBlobCache(context.Background(), src.load, 350, &g)
	bs := ids(5)
	for _, id := range bs[:3] {
		if _, err := c.get(context.Background(), id); err != nil {
			t.Fatal(err)
		}
	}
	_, _ = c.get(context.Background(), bs[0]) // bs[1] is now the least recently used
	_, _ = c.get(context.Background(), bs[3])
	if used, n := c.size(); used != 300 || n != 3 {
		t.Fatalf("cache holds %d bytes in %d blobs, want 300 in 3", used, n)
	}
	before := src.loads.Load()
	_, _ = c.get(context.Background(), bs[0])
	_, _ = c.get(context.Background(), bs[2])
	if src.loads.Load() != before {
		t.Error("a recently used blob was evicted")
	}
	_, _ = c.get(context.Background(), bs[1])
	if src.loads.Load() != before+1 {
		t.Error("the least recently used blob was not evicted")
	}

	// One blob larger than the limit is still kept: the reader in it needs it next.
	big := &counting{size: 1000}
	c = newBlobCache(context.Background(), big.load, 350, &g)
	_, _ = c.get(context.Background(), bs[0])
	_, _ = c.get(context.Background(), bs[0])
	if big.loads.Load() != 1 {
		t.Errorf("a blob above the limit was loaded %d times for two reads", big.loads.Load())
	}
}

func TestBlobCacheOneLoadForConcurrentReaders(t *testing.T) {
	src := &counting{size: 10, gate: make(chan struct{})}
	var ahead errgroup.Group
	c := newBlobCache(context.Background(), src.load, 1<<20, &ahead)
	id := ids(1)[0]
	var g errgroup.Group
	for range 8 {
		g.Go(func() error { _, err := c.get(context.Background(), id); return err })
	}
	time.Sleep(50 * time.Millisecond)
	close(src.gate)
	if err := g.Wait(); err != nil {
		t.Fatal(err)
	}
	if n := src.loads.Load(); n != 1 {
		t.Errorf("%d loads for 8 readers of one blob, want 1", n)
	}
}

// A failed load is reported and not kept: the next read loads again. A reader whose
// request is interrupted stops waiting.
func TestBlobCacheFailureNotKept(t *testing.T) {
	src := &counting{size: 10}
	var g errgroup.Group
	c := newBlobCache(context.Background(), src.load, 1<<20, &g)
	id := ids(1)[0]
	src.fail.Store(id, true)
	if _, err := c.get(context.Background(), id); !errors.Is(err, repo.ErrPackMissing) {
		t.Fatalf("get of a missing blob: %v, want ErrPackMissing", err)
	}
	src.fail.Delete(id)
	if _, err := c.get(context.Background(), id); err != nil {
		t.Fatalf("get after the failure was cured: %v", err)
	}

	slow := &counting{size: 10, gate: make(chan struct{})}
	defer close(slow.gate)
	c = newBlobCache(context.Background(), slow.load, 1<<20, &g)
	ctx, cancel := context.WithCancel(context.Background())
	c.prefetch([]digest.ID{id})
	time.Sleep(20 * time.Millisecond)
	cancel()
	if _, err := c.get(ctx, id); !errors.Is(err, context.Canceled) {
		t.Fatalf("interrupted get: %v, want context.Canceled", err)
	}
}

// Read-ahead loads the next blobs in the background, bounded by its pool: what does
// not fit is skipped, never waited for.
func TestBlobCachePrefetch(t *testing.T) {
	src := &counting{size: 10, gate: make(chan struct{})}
	var g errgroup.Group
	g.SetLimit(2)
	c := newBlobCache(context.Background(), src.load, 1<<20, &g)
	bs := ids(4)
	c.prefetch(bs) // two start, two are skipped: the pool is full
	close(src.gate)
	if err := g.Wait(); err != nil {
		t.Fatal(err)
	}
	if n := src.loads.Load(); n != 2 {
		t.Fatalf("%d read-ahead loads with a pool of 2, want 2", n)
	}
	for _, id := range bs[:2] {
		if !c.has(id) {
			t.Errorf("blob %s read ahead is not cached", id.Short())
		}
	}
	c.prefetch(bs[:2])
	_ = g.Wait()
	if n := src.loads.Load(); n != 2 {
		t.Errorf("cached blobs were read ahead again (%d loads)", n)
	}
}
