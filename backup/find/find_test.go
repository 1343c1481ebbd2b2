package find

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/cairn-backup/cairn/backup/archive"
	"github.com/cairn-backup/cairn/internal/repo"
	"github.com/cairn-backup/cairn/internal/repo/repotest"
)

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// Two snapshots: the second adds big.LOG and removes old.txt.
func TestFindListsExactlyTheMatches(t *testing.T) {
	opts := repotest.Options(t, 0)
	store := repotest.Init(t, opts)
	src := filepath.Join(t.TempDir(), "src")
	old := time.Date(2020, 6, 1, 0, 0, 0, 0, time.UTC)
	write := func(name string, size int, mtime time.Time) {
		p := filepath.Join(src, name)
		must(t, os.MkdirAll(filepath.Dir(p), 0o755))
		must(t, os.WriteFile(p, make([]byte, size), 0o644))
		must(t, os.Chtimes(p, mtime, mtime))
	}
	write("a.log", 10, old)
	write("old.txt", 5, old)
	write("sub/b.log", 2000, old.AddDate(1, 0, 0))
	write("sub/c.txt", 1, old.AddDate(2, 0, 0))
	backup := func() {
		_, err := archive.Run(context.Background(), repotest.Open(t, store, opts), archive.Options{Paths: []string{src}, Host: "h"})
		must(t, err)
	}
	backup()
	must(t, os.Remove(filepath.Join(src, "old.txt")))
	write("big.LOG", 5000, old.AddDate(3, 0, 0))
	backup()
	r := repotest.Open(t, store, opts)
	snaps, _, err := r.LoadSnapshots(context.Background())
	must(t, err)
	s := func(name string) string { return src + "/" + name }
	cases := []struct {
		name  string
		opts  Options
		want1 []string // matches in the first snapshot
		want2 []string // in the second
	}{
		{"name glob", Options{Patterns: []string{"*.log"}}, []string{s("a.log"), s("sub/b.log")}, []string{s("a.log"), s("sub/b.log")}},
		{"ignore case", Options{Patterns: []string{"*.log"}, IgnoreCase: true}, []string{s("a.log"), s("sub/b.log")},
			[]string{s("a.log"), s("big.LOG"), s("sub/b.log")}},
		{"only in the first", Options{Patterns: []string{"old.txt"}}, []string{s("old.txt")}, nil},
		{"path pattern", Options{Patterns: []string{src + "/*/*.txt"}}, []string{s("sub/c.txt")}, []string{s("sub/c.txt")}},
		{"directory by name", Options{Patterns: []string{"sub"}}, []string{s("sub")}, []string{s("sub")}},
		{"several patterns", Options{Patterns: []string{"c.txt", "old.*"}}, []string{s("old.txt"), s("sub/c.txt")}, []string{s("sub/c.txt")}},
		{"size bounds", Options{Patterns: []string{"*"}, MinSize: 6, MaxSize: 2000}, []string{s("a.log"), s("sub/b.log")}, []string{s("a.log"), s("sub/b.log")}},
		{"time bounds", Options{Patterns: []string{"*.*"}, IgnoreCase: true, Oldest: old.AddDate(0, 6, 0), Newest: old.AddDate(2, 6, 0)},
			[]string{s("sub/b.log"), s("sub/c.txt")}, []string{s("sub/b.log"), s("sub/c.txt")}},
		{"nothing", Options{Patterns: []string{"*.zip"}}, nil, nil},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got := map[string][]string{}
			must(t, Run(context.Background(), r, snaps, c.opts, func(s repo.Snapshot, ms []Match) error {
				for _, m := range ms {
					got[s.ID.String()] = append(got[s.ID.String()], m.Path)
				}
				return nil
			}))
			for i, want := range [][]string{c.want1, c.want2} {
				if g := got[snaps[i].ID.String()]; !slices.Equal(g, want) {
					t.Errorf("snapshot %d: got\n%s\nwant\n%s", i+1, strings.Join(g, "\n"), strings.Join(want, "\n"))
				}
			}
		})
	}
	if err := Run(context.Background(), r, snaps, Options{Patterns: []string{"[x"}}, nil); err == nil {
		t.Error("a malformed pattern was accepted")
	}
}
