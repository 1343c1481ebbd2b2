package archive

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/cairn-backup/cairn/internal/repo/repotest"
	"github.com/cairn-backup/cairn/remote"
	"github.com/cairn-backup/cairn/remote/remotetest"
)

// The first real error is the one reported (RELIABILITY 14): when the storage fills
// during a backup, the failing upload cancels every other worker, and the error the
// run returns is that upload's, never one of the cancellations it caused.
func TestStorageFullIsReported(t *testing.T) {
	for seed := uint64(1); seed <= 4; seed++ {
		t.Run(fmt.Sprint("seed", seed), func(t *testing.T) {
			t.Logf("seed %d", seed)
			e := &env{t: t, opts: repotest.Options(t, 1<<20)}
			e.store = repotest.Init(t, e.opts)
			src := filepath.Join(t.TempDir(), "src")
			writeMany(t, src, seed, 40, 200<<10)
			nth := 1 + int(seed%3)
			e.store.Add(remotetest.Fault{Op: remotetest.OpPut, Type: remote.Data, Nth: nth, Repeat: -1,
				Kind: remotetest.Fail, Err: remote.ErrFull})
			_, err := Run(context.Background(), e.open(), Options{Paths: []string{src}, Host: "h",
				Readers: 4, Workers: 4, Uploads: 3})
			e.store.Verify(t)
			if !errors.Is(err, remote.ErrFull) || errors.Is(err, context.Canceled) || strings.Contains(fmt.Sprint(err), "context canceled") {
				t.Fatalf("backup into a full storage: %v; want the storage-full error itself", err)
			}
			t.Log(err)
			if !strings.Contains(err.Error(), "data/") {
				t.Errorf("error %q does not name the object being written", err)
			}
		})
	}
}

// An index segment that cannot be read fails the backup with an error that names it,
// not with a cancellation of some other worker.
func TestUnreadableSegmentIsReported(t *testing.T) {
	for seed := uint64(1); seed <= 4; seed++ {
		t.Run(fmt.Sprint("seed", seed), func(t *testing.T) {
			t.Logf("seed %d", seed)
			e := newEnv(t)
			src := filepath.Join(t.TempDir(), "src")
			writeMany(t, src, seed, 40, 50<<10)
			e.backup(Options{Paths: []string{src}})
			seg := e.anyObject(remote.Index)
			writeMany(t, src, seed+100, 40, 50<<10) // new content, so the backup must store
			e.store.Add(remotetest.Fault{Op: remotetest.OpGet, Type: remote.Index, Name: seg,
				Kind: remotetest.Fail, Err: errors.New("input/output error")})
			// A new client without the cache, as on a new machine.
			opts := e.opts
			opts.StateDir = t.TempDir()
			r := repotest.Open(t, e.store, opts)
			_, err := Run(context.Background(), r, Options{Paths: []string{src}, Host: "test-host",
				Readers: 4, Workers: 4, Uploads: 3})
			e.store.Verify(t)
			t.Log(err)
			if err == nil || errors.Is(err, context.Canceled) || !strings.Contains(err.Error(), seg) {
				t.Fatalf("backup with an unreadable index segment: %v; want an error naming index/%s", err, seg)
			}
		})
	}
}

// writeMany writes n files of random content, about size bytes each, in a few folders.
func writeMany(t *testing.T, dir string, seed uint64, n, size int) {
	t.Helper()
	rng := rand.New(rand.NewPCG(seed, 7))
	for i := range n {
		p := filepath.Join(dir, fmt.Sprintf("d%d", i%5), fmt.Sprintf("f%03d", i))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		data := make([]byte, size/2+rng.IntN(size))
		for j := range data {
			data[j] = byte(rng.Uint32())
		}
		if err := os.WriteFile(p, data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

func (e *env) anyObject(typ remote.Type) string {
	e.t.Helper()
	var name string
	err := e.store.List(e.t.Context(), typ, func(i remote.Info) error {
		name = i.Name
		return nil
	})
	if err != nil || name == "" {
		e.t.Fatalf("no %s object: %v", typ, err)
	}
	return name
}
