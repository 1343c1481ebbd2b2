package local_test

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/cairn-backup/cairn/remote"
	"github.com/cairn-backup/cairn/remote/remotetest"
)

func TestTempSuite(t *testing.T) {
	remotetest.RunTemp(t, func(t *testing.T) remotetest.TempStore { return create(t) }, leaveTemp)
}

// leaveTemp leaves the file a Put of h killed before its rename leaves: a `.tmp-`
// file in the folder of the object.
func leaveTemp(t *testing.T, s remotetest.TempStore, h remote.Handle, data []byte, modTime time.Time) string {
	t.Helper()
	var rel string
	switch h.Type {
	case remote.Config:
		rel = ""
	case remote.Data:
		rel = filepath.Join(string(h.Type), h.Name[:2])
	default:
		rel = string(h.Type)
	}
	dir := filepath.Join(s.Location(), rel)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	f, err := os.CreateTemp(dir, ".tmp-*")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.Write(data); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	if err := os.Chtimes(f.Name(), modTime, modTime); err != nil {
		t.Fatal(err)
	}
	return filepath.ToSlash(filepath.Join(rel, filepath.Base(f.Name())))
}
