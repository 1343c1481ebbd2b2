package restore

import (
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/cairn-backup/cairn/internal/digest"
)

func TestSplitRef(t *testing.T) {
	for _, c := range []struct{ in, ref, sub string }{
		{"latest", "latest", ""},
		{"latest:/home/u/docs", "latest", "/home/u/docs"},
		{"abc123:home/u/", "abc123", "/home/u"},
		{"abc:/", "abc", ""},
		{":/etc/hosts", "", "/etc/hosts"},
		{"latest:/a/../../b", "latest", "/b"},
	} {
		ref, sub := SplitRef(c.in)
		if ref != c.ref || sub != c.sub {
			t.Errorf("SplitRef(%q) = %q, %q; want %q, %q", c.in, ref, sub, c.ref, c.sub)
		}
	}
}

func TestParseTime(t *testing.T) {
	loc := time.FixedZone("test", 2*3600)
	for _, c := range []struct {
		in   string
		want time.Time
	}{
		{"2025-03-01T10:20:30Z", time.Date(2025, 3, 1, 10, 20, 30, 0, time.UTC)},
		{"2025-03-01T10:20:30.5+01:00", time.Date(2025, 3, 1, 9, 20, 30, 5e8, time.UTC)},
		{"2025-03-01", time.Date(2025, 3, 1, 0, 0, 0, 0, loc)},
		{"2025-03-01 10:20", time.Date(2025, 3, 1, 10, 20, 0, 0, loc)},
		{"2025-03-01 10:20:30", time.Date(2025, 3, 1, 10, 20, 30, 0, loc)},
	} {
		got, err := ParseTime(c.in, loc)
		if err != nil || !got.Equal(c.want) {
			t.Errorf("ParseTime(%q) = %v, %v; want %v", c.in, got, err, c.want)
		}
	}
	for _, bad := range []string{"", "yesterday", "2025-13-01", "01/03/2025"} {
		if _, err := ParseTime(bad, loc); err == nil {
			t.Errorf("ParseTime(%q) accepted", bad)
		}
	}
}

func TestSelector(t *testing.T) {
	s, err := newSelector(patterns{include: []string{"*.txt", "/home/u/keep/", "/srv/*/data"}, exclude: []string{"tmp", "/home/u/keep/skip.txt"}})
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		path     string
		dir      bool
		in, excl bool
	}{
		{"/a/b.txt", false, true, false},
		{"/a/b.bin", false, false, false},
		{"/home/u/keep", true, true, false},
		{"/home/u/keep", false, false, false}, // trailing slash: directories only
		{"/srv/x/data", false, true, false},
		{"/srv/x/y/data", false, false, false}, // * does not cross /
		{"/a/tmp", true, false, true},
		{"/home/u/keep/skip.txt", false, true, true},
	} {
		name := filepath.Base(c.path)
		if got := s.included(c.path, name, c.dir); got != c.in {
			t.Errorf("included(%s, dir=%v) = %v", c.path, c.dir, got)
		}
		if got := s.excluded(c.path, name, c.dir); got != c.excl {
			t.Errorf("excluded(%s, dir=%v) = %v", c.path, c.dir, got)
		}
	}
	if _, err := newSelector(patterns{include: []string{"[bad"}}); err == nil {
		t.Error("a malformed pattern was accepted")
	}
}

func TestSelectorIgnoringCase(t *testing.T) {
	s, err := newSelector(patterns{iinclude: []string{"*.JPG", "/Home/U/Docs/"}, iexclude: []string{"thumbs.db"}})
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		path     string
		dir      bool
		in, excl bool
	}{
		{"/p/a.jpg", false, true, false},
		{"/p/B.Jpg", false, true, false},
		{"/p/a.png", false, false, false},
		{"/home/u/DOCS", true, true, false},
		{"/p/Thumbs.DB", false, false, true},
	} {
		name := filepath.Base(c.path)
		if got := s.included(c.path, name, c.dir); got != c.in {
			t.Errorf("included(%s, dir=%v) = %v", c.path, c.dir, got)
		}
		if got := s.excluded(c.path, name, c.dir); got != c.excl {
			t.Errorf("excluded(%s, dir=%v) = %v", c.path, c.dir, got)
		}
	}
}

func TestAtPicksSnapshotByTime(t *testing.T) {
	e := newEnv(t)
	src := filepath.Join(t.TempDir(), "src")
	day := time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC)
	ids := map[int]digest.ID{}
	for i := 0; i < 3; i++ {
		writeFile(t, filepath.Join(src, "version"), []byte{byte('0' + i)}, 0o644)
		ids[i] = e.backup(day.Add(time.Duration(i)*24*time.Hour), src)
	}
	r := e.open()
	snaps, _, err := r.LoadSnapshots(t.Context())
	must(t, err)
	for _, c := range []struct {
		at   time.Time
		want int
	}{
		{day, 0}, {day.Add(23 * time.Hour), 0}, {day.Add(24 * time.Hour), 1},
		{day.Add(47 * time.Hour), 1}, {day.Add(1000 * time.Hour), 2},
	} {
		s, err := Select(snaps, "", &c.at)
		if err != nil || s.ID != ids[c.want] {
			t.Errorf("--at %s: got %v (%v), want snapshot %d", c.at, s.ID.Short(), err, c.want)
		}
	}
	before := day.Add(-time.Second)
	if _, err := Select(snaps, "latest", &before); err == nil {
		t.Error("--at before the first snapshot found one")
	}
	if _, err := Select(snaps, ids[1].String()[:8], &day); err == nil {
		t.Error("an id together with --at was accepted")
	}
	at := day.Add(30 * time.Hour)
	s, _ := Select(snaps, "latest", &at)
	target := t.TempDir()
	e.mustRestore(s.ID, Options{Target: target})
	if got, _ := os.ReadFile(under(target, filepath.Join(src, "version"))); string(got) != "1" {
		t.Fatalf("restored version %q, want the snapshot of day 2", got)
	}
}

func TestSubpathDirectoryAndFile(t *testing.T) {
	e := newEnv(t)
	src := filepath.Join(t.TempDir(), "src")
	fixture(t, src, 2)
	id := e.backup(time.Time{}, src)

	target := t.TempDir()
	e.mustRestore(id, Options{Target: target, Path: filepath.Join(src, "a"), Owner: true, Special: true})
	// As with restic, a directory's contents land in the target itself.
	if names, want := list(t, target), list(t, filepath.Join(src, "a")); strings.Join(names, ",") != strings.Join(want, ",") {
		t.Fatalf("subpath /…/a restored %v, want a's entries %v", names, want)
	}
	want, got := describe(t, filepath.Join(src, "a")), describe(t, target)
	for p, w := range want {
		// The target's own metadata is left alone, as restic does.
		if g := got[p]; !sameEntry(w, g) && p != "h2" && p != "b/h3" && p != "." {
			t.Errorf("%s: got %+v, want %+v", p, g, w)
		}
	}
	if got["h2"].ino != got["b/h3"].ino {
		t.Error("hard links inside the subpath not restored as one file")
	}

	target = t.TempDir()
	e.mustRestore(id, Options{Target: target, Path: filepath.Join(src, "five")})
	if fileSum(t, filepath.Join(target, "five")) != fileSum(t, filepath.Join(src, "five")) || len(list(t, target)) != 1 {
		t.Fatalf("single-file restore: %v", list(t, target))
	}
	if _, err := e.restore(id, Options{Target: t.TempDir(), Path: filepath.Join(src, "missing")}); err == nil {
		t.Fatal("restoring a path the snapshot lacks succeeded")
	}
}

func TestIncludeExclude(t *testing.T) {
	e := newEnv(t)
	src := filepath.Join(t.TempDir(), "src")
	for _, p := range []string{"a/x.txt", "a/y.bin", "b/z.txt", "b/tmp/w.txt", "c/v.bin"} {
		writeFile(t, filepath.Join(src, p), []byte(p), 0o644)
	}
	id := e.backup(time.Time{}, src)
	target := t.TempDir()
	e.mustRestore(id, Options{Target: target, Path: src, Include: []string{"*.txt"}, Exclude: []string{"tmp"}})
	got := walkNames(t, target)
	if want := "a,a/x.txt,b,b/z.txt"; got != want {
		t.Fatalf("restored %s, want %s", got, want)
	}
}

func list(t *testing.T, dir string) []string {
	t.Helper()
	entries, err := os.ReadDir(dir)
	must(t, err)
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	return names
}

func walkNames(t *testing.T, root string) string {
	t.Helper()
	var names []string
	must(t, filepath.Walk(root, func(p string, _ os.FileInfo, err error) error {
		if rel, _ := filepath.Rel(root, p); rel != "." {
			names = append(names, rel)
		}
		return err
	}))
	sort.Strings(names)
	return strings.Join(names, ",")
}
