package verify

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/cairn-backup/cairn/backup/archive"
	"github.com/cairn-backup/cairn/internal/digest"
	"github.com/cairn-backup/cairn/internal/repo"
	"github.com/cairn-backup/cairn/internal/repo/repotest"
	"github.com/cairn-backup/cairn/remote"
	"github.com/cairn-backup/cairn/remote/local"
)

// What killed backups leave in a local repository, packs no index names and `.tmp-`
// files, is reported with counts and bytes, as information and not damage; a pack
// younger than the grace period is told apart as possibly a running backup's.
func TestLeftoversReported(t *testing.T) {
	ctx := context.Background()
	dir := filepath.Join(t.TempDir(), "repo")
	store, err := local.Create(ctx, dir)
	if err != nil {
		t.Fatal(err)
	}
	opts := repotest.Options(t, 0)
	if _, err := repo.Init(ctx, store, opts); err != nil {
		t.Fatal(err)
	}
	src := t.TempDir()
	if err := os.WriteFile(filepath.Join(src, "f"), []byte("some content"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := archive.Run(ctx, repotest.Open(t, store, opts), archive.Options{Paths: []string{src}, Host: "h"}); err != nil {
		t.Fatal(err)
	}
	old := time.Now().Add(-48 * time.Hour)
	orphan := func(size int, mtime time.Time) digest.ID {
		data := make([]byte, size)
		data[0] = byte(size)
		id := digest.Of(data)
		h := remote.Handle{Type: remote.Data, Name: id.String()}
		if err := store.Put(ctx, h, remote.Bytes(data)); err != nil {
			t.Fatal(err)
		}
		if err := os.Chtimes(filepath.Join(dir, "data", h.Name[:2], h.Name), mtime, mtime); err != nil {
			t.Fatal(err)
		}
		return id
	}
	oldPack, newPack := orphan(300, old), orphan(200, time.Now())
	for _, f := range []struct {
		rel   string
		size  int
		mtime time.Time
	}{{"data/ab/.tmp-1", 1000, old}, {"snapshots/.tmp-2", 24, time.Now()}} {
		p := filepath.Join(dir, f.rel)
		if err := os.MkdirAll(filepath.Dir(p), 0o700); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, make([]byte, f.size), 0o600); err != nil {
			t.Fatal(err)
		}
		if err := os.Chtimes(p, f.mtime, f.mtime); err != nil {
			t.Fatal(err)
		}
	}
	rep, err := Run(ctx, repotest.Open(t, store, opts), Options{})
	if err != nil || rep.Damaged() {
		t.Fatalf("verify with leftovers: %v %+v", err, rep.Problems)
	}
	want := Leftovers{GraceSeconds: DefaultGrace.Seconds(), UnindexedOld: Tally{1, 300}, UnindexedRecent: Tally{1, 200},
		Temp: Tally{2, 1024}, TempOld: Tally{1, 1000}}
	if rep.Leftovers != want {
		t.Errorf("leftovers %+v, want %+v", rep.Leftovers, want)
	}
	for _, u := range rep.Unreferenced {
		if u.Pack == newPack && !strings.Contains(u.Reason, "running backup") ||
			u.Pack == oldPack && !strings.Contains(u.Reason, "interrupted backup") {
			t.Errorf("pack %s: %q", u.Pack.Short(), u.Reason)
		}
	}
}
