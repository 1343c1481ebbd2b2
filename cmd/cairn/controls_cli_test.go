package main

import (
	"crypto/sha256"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
)

func TestBackupExcludeControls(t *testing.T) {
	c := newCLI(t)
	c.OK("init")
	src := t.TempDir()
	writeFiles(t, src, map[string]string{
		"big.bin": strings.Repeat("b", 3000), "small.txt": "s", "sized.bin": strings.Repeat("c", 2048),
		"cache/.nobackup": "", "cache/junk": "j", "cache/sub/deep": "d",
		"README.TXT": "r", "Notes.Tmp": "n", "keep.md": "k",
		"tagged/TAG": "Signature: skip me", "untagged/TAG": "something else",
	})
	c.OK("backup", "-q", "--exclude-larger-than", "2K", "--exclude-if-present", ".nobackup", "--exclude-if-present", "TAG:Signature: skip",
		"--iexclude", "readme.*", "--iexclude", "*.TMP", src)
	out := c.OK("ls", "latest", src)
	for _, kept := range []string{"small.txt", "sized.bin", "keep.md", "untagged"} {
		if !strings.Contains(out, "/"+kept) {
			t.Errorf("%s left out:\n%s", kept, out)
		}
	}
	for _, gone := range []string{"big.bin", "cache", "README.TXT", "Notes.Tmp", "tagged"} {
		if strings.Contains(out, "/"+gone) {
			t.Errorf("%s backed up:\n%s", gone, out)
		}
	}
	// A path named on the command line is excluded like one found inside, as restic.
	c.OK("backup", "-q", "--exclude-larger-than", "2K", filepath.Join(src, "big.bin"), filepath.Join(src, "small.txt"))
	if out := c.OK("ls", "latest"); strings.Contains(out, "big.bin") || !strings.Contains(out, "small.txt") {
		t.Errorf("a big file named on the command line:\n%s", out)
	}
	if r := c.Run("backup", "--exclude-larger-than", "lots", src); r.Code != exitFatal || !strings.Contains(r.Stderr, "--exclude-larger-than") {
		t.Errorf("bad size: exit %d, %s", r.Code, r.Stderr)
	}
}

func TestSkipIfUnchanged(t *testing.T) {
	c := newCLI(t)
	c.OK("init")
	src := t.TempDir()
	writeFiles(t, src, map[string]string{"a": "1", "d/b": "2"})
	c.OK("backup", "-q", src)
	if out := c.OK("backup", "--skip-if-unchanged", src); !strings.Contains(out, "no new snapshot made") {
		t.Fatalf("unchanged backup says:\n%s", out)
	}
	if n := len(snapshotIDs(t, c)); n != 1 {
		t.Fatalf("%d snapshots after an unchanged --skip-if-unchanged backup, want 1", n)
	}
	writeFiles(t, src, map[string]string{"d/b": "22"})
	c.OK("backup", "-q", "--skip-if-unchanged", src)
	if n := len(snapshotIDs(t, c)); n != 2 {
		t.Fatalf("%d snapshots after a change, want 2", n)
	}
}

// repoFiles maps every file of a local repository to the hash of its content.
func repoFiles(t *testing.T, dir string) map[string][32]byte {
	t.Helper()
	out := map[string][32]byte{}
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		data, err := os.ReadFile(p)
		out[p] = sha256.Sum256(data)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func TestDryRunVerboseListsAndWritesNothing(t *testing.T) {
	c := newCLI(t)
	c.OK("init")
	src := t.TempDir()
	writeFiles(t, src, map[string]string{"same": "1", "changed": "2"})
	c.OK("backup", "-q", src)
	writeFiles(t, src, map[string]string{"changed": "22", "sub/added": strings.Repeat("x", 100000)})
	before := repoFiles(t, c.Repo)
	out := c.OK("backup", "--dry-run", "-v", src)
	if !strings.Contains(out, "new       "+filepath.Join(src, "sub/added")) ||
		!strings.Contains(out, "modified  "+filepath.Join(src, "changed")) || strings.Contains(out, "/same") {
		t.Errorf("dry run -v lists:\n%s", out)
	}
	if !strings.Contains(out, "would be saved (dry run)") {
		t.Errorf("no dry-run summary:\n%s", out)
	}
	if after := repoFiles(t, c.Repo); !reflect.DeepEqual(before, after) {
		t.Errorf("the dry run changed the repository: %d files before, %d after", len(before), len(after))
	}
}

func TestGlobalFlagsFromEnvironment(t *testing.T) {
	c := newCLI(t)
	help := c.OK("--help")
	for _, want := range []string{"(env CAIRN_REPO)", "(env CAIRN_COMPRESSION)", "(env CAIRN_RETRY_BUDGET)"} {
		if !strings.Contains(help, want) {
			t.Errorf("--help does not show %s", want)
		}
	}
	c.OK("init")
	env := c.Env
	c.Env = append(env, "CAIRN_JSON=true")
	if out := c.OK("snapshots"); !strings.HasPrefix(strings.TrimSpace(out), "[") {
		t.Errorf("CAIRN_JSON=true: snapshots printed %q, want JSON", out)
	}
	c.Env = append(env, "CAIRN_RETRY_BUDGET=soon")
	if r := c.Run("snapshots"); r.Code != exitFatal || !strings.Contains(r.Stderr, "CAIRN_RETRY_BUDGET") {
		t.Errorf("bad CAIRN_RETRY_BUDGET: exit %d, %q", r.Code, r.Stderr)
	}
	// A flag on the command line wins over its variable.
	c.Env = append(env, "CAIRN_REPO="+filepath.Join(t.TempDir(), "nowhere"))
	if r := c.Run("snapshots", "-r", c.Repo); r.Code != 0 {
		t.Errorf("--repo over CAIRN_REPO: exit %d, %s", r.Code, r.Stderr)
	}
}

// TestLimitUploadAndDownload: the limits reach the local backend too. 640 KiB of
// incompressible data at 160 KiB/s take about four seconds each way (less a quarter
// second the limit may save up while the repository opens).
func TestLimitUploadAndDownload(t *testing.T) {
	c := newCLI(t)
	c.OK("init")
	src := filepath.Dir(streamFile(t, 640<<10))
	start := time.Now()
	c.OK("backup", "-q", "--limit-upload", "160", src)
	if d := time.Since(start); d < 3500*time.Millisecond {
		t.Errorf("backup of 640 KiB at 160 KiB/s took %v", d)
	}
	start = time.Now()
	c.OK("restore", "latest", "--target", t.TempDir(), "--no-cache", "--limit-download", "160")
	if d := time.Since(start); d < 3500*time.Millisecond {
		t.Errorf("restore of 640 KiB at 160 KiB/s took %v", d)
	}
	if r := c.Run("snapshots", "--limit-upload", "-1"); r.Code != exitFatal || !strings.Contains(r.Stderr, "KiB/s") {
		t.Errorf("negative limit: exit %d, %s", r.Code, r.Stderr)
	}
}

func TestRestoreIgnoringCase(t *testing.T) {
	c := newCLI(t)
	c.OK("init")
	src := t.TempDir()
	writeFiles(t, src, map[string]string{"Photo.JPG": "p", "b.txt": "b", "Thumbs.db": "t", "sub/x.jpg": "x"})
	c.OK("backup", "-q", src)
	target := t.TempDir()
	c.OK("restore", "latest", "--target", target, "--iinclude", "*.jpg", "--iinclude", "THUMBS.DB", "--iexclude", "SUB")
	for name, want := range map[string]bool{"Photo.JPG": true, "Thumbs.db": true, "b.txt": false, "sub/x.jpg": false} {
		_, err := os.Stat(filepath.Join(target, src, name))
		if got := err == nil; got != want {
			t.Errorf("%s restored: %v, want %v", name, got, want)
		}
	}
}
