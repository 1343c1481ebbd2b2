package restore

import (
	"context"
	"errors"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/cairn-backup/cairn/internal/digest"
	"github.com/cairn-backup/cairn/internal/repo"
	"github.com/cairn-backup/cairn/manifest"
	"github.com/cairn-backup/cairn/remote"
	"github.com/cairn-backup/cairn/remote/remotetest"
)

// damageFixture backs up files spread over several 1 MiB packs and returns, per data
// pack, the files that use a blob of it (as backed-up paths).
func damageFixture(t *testing.T) (*env, string, digest.ID, map[digest.ID][]string) {
	e := newEnvPacks(t, 1<<20)
	src := filepath.Join(t.TempDir(), "src")
	rng := rand.New(rand.NewPCG(5, 5))
	for i := 0; i < 16; i++ {
		data := make([]byte, 100<<10+rng.IntN(500<<10))
		for j := range data {
			data[j] = byte(rng.Uint32())
		}
		writeFile(t, filepath.Join(src, "d"+string(rune('a'+i%3)), "f"+string(rune('a'+i))), data, 0o644)
	}
	id := e.backup(time.Time{}, src)
	r := e.open()
	must(t, r.LoadIndex(context.Background()))
	s := e.snapshot(r, id)
	users := map[digest.ID][]string{}
	err := manifest.Walk(context.Background(), r, s.Tree, s.Root, func(p string, en *manifest.Entry) error {
		if en.Type != manifest.File {
			return nil
		}
		chunks, err := manifest.ReadChunks(context.Background(), r, en)
		seen := map[digest.ID]bool{}
		for _, c := range chunks {
			loc, _ := r.Lookup(repo.DataBlob, c.ID)
			if !seen[loc.Pack] {
				seen[loc.Pack] = true
				users[loc.Pack] = append(users[loc.Pack], "/"+p)
			}
		}
		return err
	})
	must(t, err)
	if len(users) < 3 {
		t.Fatalf("only %d data packs", len(users))
	}
	return e, src, id, users
}

// somePack picks the data pack used by the fewest files, so that others remain.
func somePack(users map[digest.ID][]string) digest.ID {
	var best digest.ID
	for p, fs := range users {
		if best.IsZero() || len(fs) < len(users[best]) || (len(fs) == len(users[best]) && p.String() < best.String()) {
			best = p
		}
	}
	return best
}

// flipEveryBlob damages every blob of a pack in the store, for good.
func flipEveryBlob(t *testing.T, e *env, p digest.ID) {
	r := e.open()
	must(t, r.LoadIndex(context.Background()))
	var locs []repo.Blob
	r.EachBlob(func(loc repo.Blob) bool {
		if loc.Pack == p {
			locs = append(locs, loc)
		}
		return true
	})
	flipBlobs(t, e, p, locs...)
}

// flipBlobs flips a byte in the middle of each blob at locs, in pack p of the store.
func flipBlobs(t *testing.T, e *env, p digest.ID, locs ...repo.Blob) {
	h := remote.Handle{Type: remote.Data, Name: p.String()}
	rd, err := e.store.Get(context.Background(), h, 0, 0)
	must(t, err)
	data, err := io.ReadAll(rd)
	rd.Close()
	must(t, err)
	for _, loc := range locs {
		data[loc.Offset+loc.Length/2] ^= 0x01
	}
	must(t, e.store.Put(context.Background(), h, remote.Bytes(data)))
}

func problemPaths(res *Result, damagedOnly bool) []string {
	var out []string
	for _, p := range res.Problems {
		if p.Damaged || !damagedOnly {
			out = append(out, p.Path)
		}
	}
	sort.Strings(out)
	return out
}

// checkOthersRestored compares every file but the damaged ones with the source.
func checkOthersRestored(t *testing.T, src, target string, damaged []string) {
	t.Helper()
	bad := map[string]bool{}
	for _, p := range damaged {
		bad[p] = true
	}
	must(t, filepath.Walk(src, func(p string, fi os.FileInfo, err error) error {
		if err != nil || fi.IsDir() {
			return err
		}
		restored := under(target, p)
		if bad[p] {
			if _, err := os.Lstat(restored); err == nil {
				t.Errorf("damaged %s was put in place", p)
			}
			return nil
		}
		if fileSum(t, restored) != fileSum(t, p) {
			t.Errorf("%s differs", p)
		}
		return nil
	}))
}

func TestDamagedPackNamesExactlyItsFiles(t *testing.T) {
	e, src, id, users := damageFixture(t)
	p := somePack(users)
	flipEveryBlob(t, e, p)
	target := t.TempDir()
	res, err := e.restore(id, Options{Target: target})
	if !errors.Is(err, ErrPartial) {
		t.Fatalf("restore from a damaged pack: %v", err)
	}
	want := append([]string(nil), users[p]...)
	sort.Strings(want)
	if got := problemPaths(res, true); strings.Join(got, " ") != strings.Join(want, " ") || len(res.Problems) != len(want) {
		t.Fatalf("damaged files named %v, want %v (problems %v)", got, want, res.Problems)
	}
	if !repo.IsDamage(res.Problems[0].Err) {
		t.Errorf("not reported as damage: %v", res.Problems[0].Err)
	}
	checkOthersRestored(t, src, target, want)
	if leftovers := walkNames(t, target); strings.Contains(leftovers, tempPrefix) {
		t.Errorf("temporary files left: %s", leftovers)
	}
}

func TestMissingPackAndBlob(t *testing.T) {
	e, src, id, users := damageFixture(t)
	p := somePack(users)
	must(t, e.store.Delete(context.Background(), remote.Handle{Type: remote.Data, Name: p.String()}))
	target := t.TempDir()
	res, err := e.restore(id, Options{Target: target})
	want := append([]string(nil), users[p]...)
	sort.Strings(want)
	if !errors.Is(err, ErrPartial) || strings.Join(problemPaths(res, true), " ") != strings.Join(want, " ") {
		t.Fatalf("missing pack: %v; named %v, want %v", err, res, want)
	}
	if !repo.IsMissing(res.Problems[0].Err) {
		t.Errorf("not reported as missing: %v", res.Problems[0].Err)
	}
	checkOthersRestored(t, src, target, want)

	c := newCrafter(t, e.open())
	ghost := c.file("ghost", "")
	ghost.Size, ghost.Chunks = 5, []manifest.Chunk{{ID: digest.Of([]byte("never stored")), Size: 5}}
	ghost.Content = manifest.ContentRoot(ghost.Chunks)
	res, err = e.restore(c.snapshot([]manifest.Entry{c.file("fine", "fine"), ghost}), Options{Target: t.TempDir()})
	if !errors.Is(err, ErrPartial) || len(res.Problems) != 1 || res.Problems[0].Path != "/ghost" ||
		!errors.Is(res.Problems[0].Err, repo.ErrBlobNotFound) || res.Files != 1 {
		t.Fatalf("blob not in the index: %v %+v", err, res)
	}
}

func TestTransientFlipIsRetriedNotDamage(t *testing.T) {
	e, src, id, users := damageFixture(t)
	p := somePack(users)
	fid := e.store.Add(remotetest.Fault{Op: remotetest.OpGet, Type: remote.Data, Name: p.String(), Nth: 1,
		Kind: remotetest.GetFlip, Seed: 3})
	target := t.TempDir()
	e.mustRestore(id, Options{Target: target})
	if e.store.Fired(fid) != 1 {
		t.Fatal("the flip never fired")
	}
	checkOthersRestored(t, src, target, nil)
}

func TestInterruptedRunLeavesNoTemporaryFiles(t *testing.T) {
	e, _, id, users := damageFixture(t)
	p := somePack(users)
	e.store.Add(remotetest.Fault{Op: remotetest.OpGet, Type: remote.Data, Name: p.String(), Kind: remotetest.Hang})
	r := e.open()
	snap := e.snapshot(r, id)
	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(300*time.Millisecond, cancel)
	target := t.TempDir()
	if _, err := Run(ctx, r, snap, Options{Target: target}); !errors.Is(err, context.Canceled) {
		t.Fatalf("interrupted run: %v", err)
	}
	if names := walkNames(t, target); strings.Contains(names, tempPrefix) {
		t.Fatalf("temporary files left: %s", names)
	}
}

// A damaged byte in one directory's node costs that directory and nothing else, even
// without a cache: the other nodes of its pack still load, and every other file is
// restored.
func TestDamagedTreeNodeCostsOnlyItsDirectory(t *testing.T) {
	e, src, id, _ := damageFixture(t)
	r := e.open()
	must(t, r.LoadIndex(context.Background()))
	s := e.snapshot(r, id)
	var dir string
	var node digest.ID
	must(t, manifest.Walk(context.Background(), r, s.Tree, s.Root, func(p string, en *manifest.Entry) error {
		if en.Type == manifest.Dir && en.Name == "db" {
			dir, node = "/"+p, en.Subtree
		}
		return nil
	}))
	loc, ok := r.Lookup(repo.TreeBlob, node)
	if node.IsZero() || !ok {
		t.Fatalf("no node for directory db (%s)", dir)
	}
	flipBlobs(t, e, loc.Pack, loc)

	target := t.TempDir()
	res, err := e.restore(id, Options{Target: target})
	if !errors.Is(err, ErrPartial) {
		t.Fatalf("restore with a damaged directory node: %v", err)
	}
	if got := problemPaths(res, true); len(got) != 1 || got[0] != dir {
		t.Fatalf("damage reported at %v, want only %s (problems %v)", got, dir, res.Problems)
	}
	var lost []string
	entries, err := os.ReadDir(filepath.Join(src, "db"))
	must(t, err)
	for _, en := range entries {
		lost = append(lost, filepath.Join(dir, en.Name()))
	}
	checkOthersRestored(t, src, target, lost)
}
