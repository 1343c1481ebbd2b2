package verify

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"testing"

	"github.com/cairn-backup/cairn/backup/archive"
	"github.com/cairn-backup/cairn/internal/digest"
	"github.com/cairn-backup/cairn/internal/repo"
	"github.com/cairn-backup/cairn/internal/repo/repotest"
	"github.com/cairn-backup/cairn/manifest"
	"github.com/cairn-backup/cairn/remote"
	"github.com/cairn-backup/cairn/remote/remotetest"
)

// env is a repository in memory behind a fault wrapper, and a source tree to back up.
type env struct {
	t     *testing.T
	store *remotetest.Faulty
	opts  repo.Options
	src   string
	rng   *rand.Rand
}

func newEnv(t *testing.T) *env {
	t.Helper()
	e := &env{t: t, src: filepath.Join(t.TempDir(), "src"), rng: rand.New(rand.NewPCG(7, 7)),
		opts: repotest.Options(t, 1<<20)} // small packs: damage hits some files, not all
	e.store = repotest.Init(t, e.opts)
	return e
}

func (e *env) open() *repo.Repo { return repotest.Open(e.t, e.store, e.opts) }

// write adds files of random content under the source tree.
func (e *env) write(files map[string]int) {
	e.t.Helper()
	for name, size := range files {
		p := filepath.Join(e.src, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			e.t.Fatal(err)
		}
		data := make([]byte, size)
		for i := range data {
			data[i] = byte(e.rng.Uint32())
		}
		if err := os.WriteFile(p, data, 0o644); err != nil {
			e.t.Fatal(err)
		}
	}
}

// tree writes a tree of a few dozen files in nested directories, about 3 MB.
func (e *env) tree(prefix string) {
	files := map[string]int{}
	for i := range 16 {
		files[fmt.Sprintf("%s/d%d/s%d/f%02d", prefix, i%3, i%2, i)] = 500 + i*20_000
	}
	files[prefix+"/empty"] = 0
	files[prefix+"/big"] = 900_000 // a few chunks
	e.write(files)
}

func (e *env) backup() digest.ID {
	e.t.Helper()
	r := e.open()
	defer r.Close()
	res, err := archive.Run(context.Background(), r, archive.Options{Paths: []string{e.src}, Host: "h"})
	if err != nil {
		e.t.Fatal(err)
	}
	return res.Snapshot
}

func (e *env) verify(opts Options) (*Report, error) {
	e.t.Helper()
	r := e.open()
	defer r.Close()
	rep, err := Run(context.Background(), r, opts)
	if rep == nil {
		e.t.Fatalf("verify failed without a report: %v", err)
	}
	return rep, err
}

func (e *env) clean(opts Options) *Report {
	e.t.Helper()
	rep, err := e.verify(opts)
	if err != nil || len(rep.Problems) > 0 {
		e.t.Fatalf("verify of an intact repository: %v %+v", err, rep.Problems)
	}
	return rep
}

func (e *env) get(h remote.Handle) []byte {
	e.t.Helper()
	b, err := remote.ReadAll(context.Background(), e.store, h, 0, 0, 1<<30)
	if err != nil {
		e.t.Fatal(err)
	}
	return b
}

func (e *env) put(h remote.Handle, b []byte) {
	e.t.Helper()
	if err := e.store.Put(context.Background(), h, remote.Bytes(b)); err != nil {
		e.t.Fatal(err)
	}
}

func (e *env) del(h remote.Handle) {
	e.t.Helper()
	if err := e.store.Delete(context.Background(), h); err != nil {
		e.t.Fatal(err)
	}
}

func packHandle(id digest.ID) remote.Handle {
	return remote.Handle{Type: remote.Data, Name: id.String()}
}

// packsOf returns the packs holding blobs of type t, sorted.
func packsOf(r *repo.Repo, t repo.BlobType) []digest.ID {
	seen := map[digest.ID]bool{}
	r.EachBlob(func(loc repo.Blob) bool {
		bt := loc.Type
		if bt == t {
			seen[loc.Pack] = true
		}
		return true
	})
	out := make([]digest.ID, 0, len(seen))
	for id := range seen {
		out = append(out, id)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].String() < out[j].String() })
	return out
}

func loaded(t *testing.T, r *repo.Repo) *repo.Repo {
	t.Helper()
	if err := r.LoadIndex(context.Background()); err != nil {
		t.Fatal(err)
	}
	return r
}

// blobsAt returns the blobs the index places in pack p over byte range [from, to).
func blobsAt(r *repo.Repo, p digest.ID, from, to int64) map[blobKey]bool {
	out := map[blobKey]bool{}
	r.EachBlob(func(loc repo.Blob) bool {
		t, id := loc.Type, loc.ID
		if loc.Pack == p && int64(loc.Offset) < to && int64(loc.Offset)+int64(loc.Length) > from {
			out[blobKey{t, id}] = true
		}
		return true
	})
	return out
}

// groundTruth computes, from an intact repository and independently of the engine,
// the files and directories of each snapshot that the bad blobs make unrestorable:
// files needing a bad chunk or chunk list, directories whose node or a piece of it is
// bad (and nothing under those). Keys are "snapshot-id /path".
func groundTruth(t *testing.T, r *repo.Repo, bad map[blobKey]bool) []string {
	t.Helper()
	ctx := context.Background()
	snaps, _, err := r.LoadSnapshots(ctx)
	if err != nil {
		t.Fatal(err)
	}
	nodeBad := func(id digest.ID) bool {
		if bad[blobKey{repo.TreeBlob, id}] {
			return true
		}
		b, err := r.LoadTree(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		n, err := manifest.DecodeNode(b)
		if err != nil {
			t.Fatal(err)
		}
		return slices.ContainsFunc(n.Pieces, func(p digest.ID) bool { return bad[blobKey{repo.TreeBlob, p}] })
	}
	var out []string
	for _, s := range snaps {
		if nodeBad(s.Tree) {
			out = append(out, s.ID.String()+" /")
			continue
		}
		err := manifest.Walk(ctx, r, s.Tree, s.Root, func(p string, e *manifest.Entry) error {
			if e.Type == manifest.Dir && nodeBad(e.Subtree) {
				out = append(out, s.ID.String()+" /"+p)
				return manifest.SkipDir
			}
			if e.Type != manifest.File {
				return nil
			}
			chunks, err := manifest.ReadChunks(ctx, r, e)
			if err != nil {
				return err
			}
			hit := slices.ContainsFunc(e.Lists, func(id digest.ID) bool { return bad[blobKey{repo.TreeBlob, id}] }) ||
				slices.ContainsFunc(chunks, func(c manifest.Chunk) bool { return bad[blobKey{repo.DataBlob, c.ID}] })
			if hit {
				out = append(out, s.ID.String()+" /"+p)
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	sort.Strings(out)
	return out
}

func affectedKeys(rep *Report) []string {
	var out []string
	for _, a := range rep.Affected {
		out = append(out, a.Snapshot.String()+" "+a.Path)
	}
	sort.Strings(out)
	return out
}

func hasProblem(rep *Report, kind Kind) bool {
	return slices.ContainsFunc(rep.Problems, func(p Problem) bool { return p.Kind == kind })
}

func wantDamage(t *testing.T, rep *Report, err error, kind Kind) {
	t.Helper()
	if !errors.Is(err, ErrDamage) || !hasProblem(rep, kind) {
		t.Fatalf("want damage %s, got %v: %+v", kind, err, rep.Problems)
	}
}

func sameKeys(t *testing.T, what string, got, want []string) {
	t.Helper()
	if len(want) == 0 {
		t.Fatalf("%s: the test damaged nothing any file needs", what)
	}
	if !slices.Equal(got, want) {
		t.Fatalf("%s: affected\n got  %q\n want %q", what, got, want)
	}
}
