package main

import (
	"io/fs"
	"path/filepath"
	"strings"
	"testing"

	"github.com/cairn-backup/cairn/internal/clitest"
)

// A backup to a local repository fills its packs in the repository and renames them
// into place: it needs no room in the system's temporary folder (here one that does
// not exist), leaves no temporary file, and restores byte for byte.
func TestLocalBackupRoundTripWithoutTempDir(t *testing.T) {
	c := newCLI(t)
	c.OK("init", "--pack-size", "1")
	src := filepath.Join(t.TempDir(), "src")
	clitest.BigRandomFiles(t, filepath.Join(src, "big"), 6, 700<<10, 7)
	writeFiles(t, src, map[string]string{"a": "alpha", "d/b": "beta", "d/e/c": "gamma"})
	want := treeState(t, src)
	noTemp := *c
	noTemp.Env = append(append([]string{}, c.Env...), "TMPDIR="+filepath.Join(t.TempDir(), "missing"))
	noTemp.OK("backup", "-q", src)
	var left []string
	err := filepath.WalkDir(c.Repo, func(p string, d fs.DirEntry, err error) error {
		if err == nil && strings.HasPrefix(d.Name(), ".tmp-") {
			left = append(left, p)
		}
		return err
	})
	if err != nil || len(left) != 0 {
		t.Fatalf("temporary files in the repository after the backup: %q, %v", left, err)
	}
	target := filepath.Join(t.TempDir(), "t")
	c.OK("restore", "latest:"+src, "--target", target)
	sameState(t, want, treeState(t, target))
	c.OK("verify", "--read-data")
}
