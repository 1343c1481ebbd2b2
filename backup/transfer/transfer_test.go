package transfer

import (
	"bytes"
	"context"
	"io/fs"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/cairn-backup/cairn/backup/archive"
	"github.com/cairn-backup/cairn/backup/restore"
	"github.com/cairn-backup/cairn/backup/verify"
	"github.com/cairn-backup/cairn/internal/digest"
	"github.com/cairn-backup/cairn/internal/repo"
	"github.com/cairn-backup/cairn/internal/repo/repotest"
	"github.com/cairn-backup/cairn/remote/remotetest"
)

type side struct {
	t     *testing.T
	store *remotetest.Faulty
	opts  repo.Options
}

// newSide makes a repository; with from, it takes from's chunker parameters.
func newSide(t *testing.T, from *side) *side {
	s := &side{t: t, opts: repotest.Options(t, 1<<20)}
	if from != nil {
		cfg := from.open().Config()
		s.opts.ChunkerFrom = &cfg
	}
	s.store = repotest.Init(t, s.opts)
	return s
}

func (s *side) open() *repo.Repo { return repotest.Open(s.t, s.store, s.opts) }

func (s *side) backup(src string, at time.Time) { s.backupAs("h", src, at) }

func (s *side) backupAs(host, src string, at time.Time) {
	_, err := archive.Run(context.Background(), s.open(), archive.Options{Paths: []string{src}, Host: host,
		Clock: func() time.Time { return at }})
	must(s.t, err)
}

func (s *side) snapshots() []repo.Snapshot {
	snaps, bad, err := s.open().LoadSnapshots(context.Background())
	must(s.t, err)
	if len(bad) > 0 {
		s.t.Fatal(bad)
	}
	return snaps
}

func (s *side) restore(id digest.ID) string {
	r := s.open()
	snaps, _, err := r.LoadSnapshots(context.Background())
	must(s.t, err)
	snap, err := repo.Find(snaps, id.String())
	must(s.t, err)
	target := s.t.TempDir()
	_, err = restore.Run(context.Background(), r, snap, restore.Options{Target: target})
	must(s.t, err)
	return target
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func writeRandom(t *testing.T, p string, n int, seed uint64) {
	b := make([]byte, n)
	rng := rand.New(rand.NewPCG(seed, 7))
	for i := range b {
		b[i] = byte(rng.Uint32())
	}
	must(t, os.MkdirAll(filepath.Dir(p), 0o755))
	must(t, os.WriteFile(p, b, 0o644))
}

func copyRun(t *testing.T, src, dst *side, snaps []repo.Snapshot) *Result {
	t.Helper()
	res, err := Run(context.Background(), src.open(), dst.open(), snaps, Options{})
	must(t, err)
	return res
}

// TestCopyVerifyRestoreRerun: a part of a chain copied into a repository that holds
// some of the data already; the target verifies clean, restores the same bytes as the
// source, and a rerun copies nothing.
func TestCopyVerifyRestoreRerun(t *testing.T) {
	src := newSide(t, nil)
	dst := newSide(t, src) // init --copy-chunker-params: shared files are the same chunks
	dir := filepath.Join(t.TempDir(), "data")
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	writeRandom(t, filepath.Join(dir, "shared.bin"), 3<<20, 1)
	dst.backupAs("other", dir, t0) // another host's backup gave the target shared.bin's chunks
	writeRandom(t, filepath.Join(dir, "one.bin"), 2<<20, 2)
	src.backup(dir, t0.Add(time.Hour))
	writeRandom(t, filepath.Join(dir, "sub/two.bin"), 2<<20, 3)
	src.backup(dir, t0.Add(2*time.Hour))
	writeRandom(t, filepath.Join(dir, "one.bin"), 1<<20, 4)
	src.backup(dir, t0.Add(3*time.Hour))
	snaps := src.snapshots()

	res := copyRun(t, src, dst, snaps[1:])
	if len(res.Copied) != 2 || res.Copied[0] != snaps[1].ID || res.Copied[1] != snaps[2].ID {
		t.Fatalf("copied %v, want the last two of %d", res.Copied, len(snaps))
	}
	if res.Reused == 0 || len(res.Explained) != 1 || res.Explained[0] != snaps[0].ID {
		t.Fatalf("reused %d blobs, explained %v: want shared chunks reused and the first snapshot explained", res.Reused, res.Explained)
	}
	checkVerify(t, dst)
	for _, s := range snaps[1:] {
		sameTree(t, src.restore(s.ID), dst.restore(s.ID))
	}

	if res := copyRun(t, src, dst, snaps[1:]); len(res.Copied) != 0 || res.Blobs != 0 || len(res.Skipped) != 2 {
		t.Fatalf("rerun copied %v (%d blobs), skipped %v", res.Copied, res.Blobs, res.Skipped)
	}
	// The rest of the chain later: only what the first snapshot adds moves.
	res = copyRun(t, src, dst, snaps)
	if len(res.Copied) != 1 || res.Bytes > 3<<20 || len(res.Explained) != 0 {
		t.Fatalf("copy of the whole chain: %+v", res)
	}
	checkVerify(t, dst)
	sameTree(t, src.restore(snaps[0].ID), dst.restore(snaps[0].ID))
}

func checkVerify(t *testing.T, s *side) {
	t.Helper()
	rep, err := verify.Run(context.Background(), s.open(), verify.Options{ReadData: true})
	if err != nil || len(rep.Problems) > 0 {
		t.Fatalf("verify of the target: %v, problems %+v", err, rep.Problems)
	}
}

// sameTree fails unless a and b hold the same files with the same bytes and modes.
func sameTree(t *testing.T, a, b string) {
	t.Helper()
	list := func(root string) map[string][]byte {
		out := map[string][]byte{}
		must(t, filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			rel, _ := filepath.Rel(root, p)
			fi, err := d.Info()
			if err != nil {
				return err
			}
			out[rel] = []byte(fi.Mode().String())
			if d.Type().IsRegular() {
				data, err := os.ReadFile(p)
				out[rel] = append(out[rel], data...)
				return err
			}
			return nil
		}))
		return out
	}
	la, lb := list(a), list(b)
	if len(la) != len(lb) {
		t.Fatalf("%d entries restored from the source, %d from the target", len(la), len(lb))
	}
	for k, v := range la {
		if !bytes.Equal(v, lb[k]) {
			t.Fatalf("%s differs between the source's and the target's restore", k)
		}
	}
}
