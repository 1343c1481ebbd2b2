// Package repotest sets up repositories for the engines' tests: an in-memory store
// behind a fault wrapper, and options that keep tests fast and private.
package repotest

import (
	"context"
	"testing"

	"github.com/cairn-backup/cairn/internal/crypto"
	"github.com/cairn-backup/cairn/internal/pack"
	"github.com/cairn-backup/cairn/internal/repo"
	"github.com/cairn-backup/cairn/remote"
	"github.com/cairn-backup/cairn/remote/remotetest"
)

// FastKDF keeps tests quick; the production parameters are tested in package crypto.
var FastKDF = crypto.KDF{Algorithm: "argon2id", Time: 1, MemoryKiB: 8 << 10, Threads: 1}

// Options are repository options for a test: password "pw", the fast KDF, and state
// and temporary folders of the test's own. The temporary folder is never a parent of
// a backed-up tree, whose mtime it would change. packSize 0 is the default.
func Options(t testing.TB, packSize int) repo.Options {
	return repo.Options{
		Password: []byte("pw"), KDF: &FastKDF, StateDir: t.TempDir(), Compression: pack.CompressFastest,
		TempDir: t.TempDir(), PackSize: packSize,
	}
}

// Init creates a repository with opts in a new in-memory store and returns the store.
func Init(t testing.TB, opts repo.Options) *remotetest.Faulty {
	t.Helper()
	store := remotetest.NewFaulty(remotetest.NewMem())
	if _, err := repo.Init(context.Background(), store, opts); err != nil {
		t.Fatal(err)
	}
	return store
}

// Open opens the repository in store as a new client session would.
func Open(t testing.TB, store remote.Storage, opts repo.Options) *repo.Repo {
	t.Helper()
	r, err := repo.Open(context.Background(), store, opts)
	if err != nil {
		t.Fatal(err)
	}
	return r
}
