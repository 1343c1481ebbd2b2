package main

import (
	"archive/tar"
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestFindAndDump: find names the snapshots holding a file; dump prints a file and
// writes a directory as a tar of exactly its entries.
func TestFindAndDump(t *testing.T) {
	c := newCLI(t)
	c.OK("init")
	src := filepath.Join(t.TempDir(), "src")
	writeFiles(t, src, map[string]string{"notes.txt": "first", "sub/report.PDF": "pdf"})
	c.OK("backup", "-q", src)
	writeFiles(t, src, map[string]string{"notes.txt": "second version"})
	c.OK("backup", "-q", src)
	snaps := listSnapshots(t, c)

	out := c.OK("find", "notes.txt")
	if strings.Count(out, "Found matching entries in snapshot") != 2 || strings.Count(out, src+"/notes.txt") != 2 {
		t.Fatalf("find notes.txt:\n%s", out)
	}
	var found []findJSON
	if err := json.Unmarshal([]byte(c.OK("find", "--json", "-i", "--snapshot", "latest", "*.pdf")), &found); err != nil {
		t.Fatal(err)
	}
	if len(found) != 1 || found[0].Snapshot != snaps[1].ID || found[0].Hits != 1 || found[0].Matches[0].Path != src+"/sub/report.PDF" {
		t.Fatalf("find --json -i --snapshot latest *.pdf: %+v", found)
	}
	if out := c.OK("find", "--json", "*.zip"); strings.TrimSpace(out) != "[]" {
		t.Fatalf("find without a match: %q, want []", out)
	}

	if got := c.OK("dump", snaps[0].ID, src+"/notes.txt"); got != "first" {
		t.Fatalf("dump of the first snapshot's file: %q", got)
	}
	target := filepath.Join(t.TempDir(), "out.tar")
	c.OK("dump", "--target", target, "latest", src)
	f, err := os.Open(target)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	got := map[string]string{}
	tr := tar.NewReader(f)
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		} else if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(tr)
		got[h.Name] = string(body)
	}
	rel := strings.TrimPrefix(src, "/")
	want := map[string]string{rel + "/notes.txt": "second version", rel + "/sub/": "", rel + "/sub/report.PDF": "pdf"}
	if len(got) != len(want) {
		t.Fatalf("tar holds %v, want %v", got, want)
	}
	for k, v := range want {
		if got[k] != v {
			t.Fatalf("tar holds %v, want %v", got, want)
		}
	}
	if r := c.Run("dump", "latest", src+"/missing"); r.Code != exitFatal || !strings.Contains(r.Stderr, "not found") {
		t.Fatalf("dump of a missing path: exit %d, %q", r.Code, r.Stderr)
	}
}

// TestCat: every object cat shows decodes, and key material is never printed.
func TestCat(t *testing.T) {
	c := newCLI(t)
	c.OK("init")
	src := filepath.Join(t.TempDir(), "src")
	writeFiles(t, src, map[string]string{"f": "content of f"})
	c.OK("backup", "-q", src)
	snap := listSnapshots(t, c)[0]

	var cfg struct{ ID string }
	if err := json.Unmarshal([]byte(c.OK("cat", "config")), &cfg); err != nil || len(cfg.ID) != 64 {
		t.Fatalf("cat config: %v %+v", err, cfg)
	}
	var rec struct {
		Tree  string   `json:"tree"`
		Paths []string `json:"paths"`
	}
	if err := json.Unmarshal([]byte(c.OK("cat", "snapshot", snap.ID[:8])), &rec); err != nil || rec.Paths[0] != src {
		t.Fatalf("cat snapshot: %v %+v", err, rec)
	}
	if c.OK("cat", "snapshot", "latest") != c.OK("cat", "snapshot", snap.ID) {
		t.Fatal("cat snapshot latest differs from cat snapshot ID")
	}
	var top struct{ Entries []struct{ Name string } }
	if err := json.Unmarshal([]byte(c.OK("cat", "tree", rec.Tree)), &top); err != nil || len(top.Entries) != 1 {
		t.Fatalf("cat tree: %v %+v", err, top)
	}
	// The file's chunk, found through an index segment and its pack's header.
	idx, err := os.ReadDir(filepath.Join(c.Repo, "index"))
	if err != nil {
		t.Fatal(err)
	}
	var seg struct {
		Packs []struct {
			ID    string
			Blobs []struct{ Type, ID string }
		}
	}
	if err := json.Unmarshal([]byte(c.OK("cat", "index", idx[0].Name())), &seg); err != nil || len(seg.Packs) == 0 {
		t.Fatalf("cat index: %v %+v", err, seg)
	}
	var data string
	for _, p := range seg.Packs {
		var hdr struct{ Blobs []struct{ Type, ID string } }
		if err := json.Unmarshal([]byte(c.OK("cat", "pack", p.ID[:10])), &hdr); err != nil || len(hdr.Blobs) != len(p.Blobs) {
			t.Fatalf("cat pack: %v: header lists %d blobs, index %d", err, len(hdr.Blobs), len(p.Blobs))
		}
		for _, b := range hdr.Blobs {
			if b.Type == "data" {
				data = c.OK("cat", "blob", b.ID)
			}
		}
	}
	if data != "content of f" {
		t.Fatalf("cat blob: %q", data)
	}
	keys, err := os.ReadDir(filepath.Join(c.Repo, "keys"))
	if err != nil {
		t.Fatal(err)
	}
	if out := c.OK("cat", "key", keys[0].Name()[:8]); strings.Contains(out, "wrapped") || !strings.Contains(out, "argon2id") {
		t.Fatalf("cat key shows the wrapped key or no KDF:\n%s", out)
	}
	if r := c.Run("cat", "masterkey"); r.Code != exitFatal || !strings.Contains(r.Stderr, "never prints key material") {
		t.Fatalf("cat masterkey: exit %d, %q", r.Code, r.Stderr)
	}
}

// TestCopyCLI: local to local with the source's chunker parameters; the target
// verifies, restores the source's bytes, and a rerun copies nothing.
func TestCopyCLI(t *testing.T) {
	src := newCLI(t)
	src.OK("init")
	data := filepath.Join(t.TempDir(), "data")
	writeFiles(t, data, map[string]string{"a": "alpha", "d/b": strings.Repeat("beta ", 100000)})
	src.OK("backup", "-q", data)
	writeFiles(t, data, map[string]string{"a": "alpha two"})
	src.OK("backup", "-q", data)

	dst := newCLI(t)
	dst.Env = append(dst.Env, "CAIRN_FROM_REPO="+src.Repo, "CAIRN_FROM_PASSWORD=correct horse")
	dst.OK("init", "--copy-chunker-params")
	var a, b struct {
		Polynomial string `json:"chunker_polynomial"`
	}
	_ = json.Unmarshal([]byte(src.OK("cat", "config")), &a)
	_ = json.Unmarshal([]byte(dst.OK("cat", "config")), &b)
	if a.Polynomial == "" || a.Polynomial != b.Polynomial {
		t.Fatalf("init --copy-chunker-params: polynomial %q, source %q", b.Polynomial, a.Polynomial)
	}
	if out := dst.OK("copy"); !strings.Contains(out, "copied 2 snapshots") {
		t.Fatalf("copy:\n%s", out)
	}
	dst.OK("verify", "--read-data")
	if got, want := listSnapshots(t, dst), listSnapshots(t, src); len(got) != 2 || got[0].ID != want[0].ID || got[1].ID != want[1].ID {
		t.Fatalf("target snapshots %+v, source %+v", got, want)
	}
	target := t.TempDir()
	dst.OK("restore", "latest", "--target", target)
	if b, err := os.ReadFile(filepath.Join(target, data, "a")); err != nil || string(b) != "alpha two" {
		t.Fatalf("restore from the target: %q, %v", b, err)
	}
	var res copyJSON
	if err := json.Unmarshal([]byte(dst.OK("copy", "--json")), &res); err != nil || len(res.Copied) != 0 || len(res.Skipped) != 2 || res.Blobs != 0 {
		t.Fatalf("rerun: %v %+v", err, res)
	}
	if r := dst.Run("copy", "--from-repo", dst.Repo); r.Code != exitFatal || !strings.Contains(r.Stderr, "same repository") {
		t.Fatalf("copy into itself: exit %d, %q", r.Code, r.Stderr)
	}
}

// TestSnapshotsCompact: one line per snapshot, without the paths; grouped as well.
func TestSnapshotsCompact(t *testing.T) {
	c := newCLI(t)
	c.OK("init")
	a, b := filepath.Join(t.TempDir(), "a"), filepath.Join(t.TempDir(), "b")
	writeFiles(t, a, map[string]string{"f": "1"})
	writeFiles(t, b, map[string]string{"f": "2"})
	c.OK("backup", "-q", a, b)
	c.OK("backup", "-q", a)
	lines := strings.Split(strings.TrimSpace(c.OK("snapshots", "--compact")), "\n")
	if len(lines) != 4 || strings.Contains(lines[0], "Paths") || strings.Contains(strings.Join(lines, "\n"), a) {
		t.Fatalf("snapshots --compact:\n%s", strings.Join(lines, "\n"))
	}
	if !strings.Contains(c.OK("snapshots"), a+" "+b) {
		t.Fatal("snapshots without --compact lost its paths")
	}
	if out := c.OK("snapshots", "--compact", "--group-by", "paths"); strings.Count(out, "snapshots for (paths [") != 2 || strings.Contains(out, "\tPaths") {
		t.Fatalf("snapshots --compact --group-by paths:\n%s", out)
	}
}
