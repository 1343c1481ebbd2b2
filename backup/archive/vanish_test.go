package archive

import (
	"context"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"testing"

	"github.com/cairn-backup/cairn/internal/fsys"
	"github.com/cairn-backup/cairn/manifest"
	"golang.org/x/sys/unix"
)

// An entry that vanishes between the listing of its directory and its reading is
// reported once, as not existing, and left out of the snapshot.
func TestVanishedEntryReportedOnce(t *testing.T) {
	cases := map[string]func(p string){
		"file":       func(p string) { must(t, os.WriteFile(p, []byte("gone soon"), 0o644)) },
		"large file": func(p string) { must(t, os.WriteFile(p, make([]byte, 2<<20), 0o644)) },
		"hard link": func(p string) {
			must(t, os.WriteFile(p, []byte("linked"), 0o644))
			must(t, os.Link(p, p+".other"))
		},
		"directory": func(p string) { must(t, os.Mkdir(p, 0o755)) },
		"symlink":   func(p string) { must(t, os.Symlink("target", p)) },
		"fifo":      func(p string) { must(t, unix.Mkfifo(p, 0o644)) },
	}
	for name, create := range cases {
		t.Run(name, func(t *testing.T) {
			e := newEnv(t)
			b, err := newRun(context.Background(), e.open(), Options{Host: "test-host"}, nil)
			if err != nil {
				t.Fatal(err)
			}
			defer b.cancel(nil)
			p := filepath.Join(t.TempDir(), "entry")
			create(p)
			info, err := fsys.Lstat(p)
			if err != nil {
				t.Fatal(err)
			}
			must(t, os.Remove(p)) // after the listing's lstat, before the entry is read

			_, err = b.walkOne(p, info)
			if werr := b.wait(); werr != nil {
				t.Fatal(werr)
			}
			if !errors.Is(err, errSkipped) {
				t.Errorf("vanished %s: err = %v, want it left out", name, err)
			}
			errs := b.errs.list()
			if len(errs) != 1 || errs[0].Path != p || !errors.Is(errs[0].Err, fs.ErrNotExist) {
				t.Errorf("vanished %s reported as %v, want once as not existing", name, errs)
			}
			if n := b.stats.Errors.Load(); n != 1 {
				t.Errorf("error count %d, want 1", n)
			}
		})
	}
}

// A path given to back up that vanishes after it was looked at is reported once, and
// the snapshot of the others is still made.
func TestVanishedPathReportedOnce(t *testing.T) {
	e := newEnv(t)
	b, err := newRun(context.Background(), e.open(), Options{Host: "test-host"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer b.cancel(nil)
	kept, gone := t.TempDir(), filepath.Join(t.TempDir(), "gone")
	if _, _, err := b.top(b.gctx, []string{kept, gone}); err != nil {
		t.Fatalf("one vanished path failed the backup: %v", err)
	}
	if errs := b.errs.list(); len(errs) != 1 || errs[0].Path != gone || !errors.Is(errs[0].Err, fs.ErrNotExist) {
		t.Errorf("vanished path reported as %v, want once as not existing", errs)
	}
}

// walkOne backs up one listed entry as its directory's walk would.
func (b *run) walkOne(p string, info fsys.Info) (manifest.Entry, error) {
	ctx := context.Background()
	if info.Kind == fsys.Dir {
		none := &prevRef{load: func() *manifest.Entry { return nil }}
		return b.dir(ctx, p, info, none, info.Dev)
	}
	var s entrySlot
	b.entry(ctx, &s, p, info, nil)
	return s.wait(ctx)
}
