package restore

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/cairn-backup/cairn/backup/archive"
	"github.com/cairn-backup/cairn/internal/digest"
	"github.com/cairn-backup/cairn/internal/repo"
	"github.com/cairn-backup/cairn/internal/repo/repotest"
	"github.com/cairn-backup/cairn/remote/remotetest"
)

// env is a repository in memory, reopened for each operation as a new process would.
type env struct {
	t     *testing.T
	store *remotetest.Faulty
	opts  repo.Options
}

func newEnv(t *testing.T) *env { return newEnvPacks(t, 0) }

// newEnvPacks makes a repository whose packs are about packSize bytes (0: default).
func newEnvPacks(t *testing.T, packSize int) *env {
	t.Helper()
	e := &env{t: t, opts: repotest.Options(t, packSize)}
	e.store = repotest.Init(t, e.opts)
	return e
}

func (e *env) open() *repo.Repo { return repotest.Open(e.t, e.store, e.opts) }

// backup makes a snapshot of paths; a zero at means now.
func (e *env) backup(at time.Time, paths ...string) digest.ID {
	e.t.Helper()
	opts := archive.Options{Paths: paths, Host: "test-host"}
	if !at.IsZero() {
		opts.Clock = func() time.Time { return at }
	}
	res, err := archive.Run(context.Background(), e.open(), opts)
	if err != nil {
		e.t.Fatal(err)
	}
	if len(res.Unreadable) > 0 {
		e.t.Fatalf("backup: unreadable %v", res.Unreadable)
	}
	return res.Snapshot
}

func (e *env) snapshot(r *repo.Repo, id digest.ID) repo.Snapshot {
	e.t.Helper()
	snaps, _, err := r.LoadSnapshots(context.Background())
	if err != nil {
		e.t.Fatal(err)
	}
	s, err := repo.Find(snaps, id.String())
	if err != nil {
		e.t.Fatal(err)
	}
	return s
}

// restore runs a restore of snapshot id; problems are returned, not fatal.
func (e *env) restore(id digest.ID, opts Options) (*Result, error) {
	e.t.Helper()
	r := e.open()
	defer r.Close()
	return Run(context.Background(), r, e.snapshot(r, id), opts)
}

// mustRestore runs a restore that must have no problem.
func (e *env) mustRestore(id digest.ID, opts Options) *Result {
	e.t.Helper()
	res, err := e.restore(id, opts)
	if err != nil {
		if res != nil {
			for _, p := range res.Problems {
				e.t.Errorf("problem: %v", p)
			}
		}
		e.t.Fatal(err)
	}
	return res
}

// under maps an absolute source path to where a whole-snapshot restore puts it.
func under(target, src string) string { return filepath.Join(target, src) }
