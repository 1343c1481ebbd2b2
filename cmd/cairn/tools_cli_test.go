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
	c.ok("init")
	src := filepath.Join(t.TempDir(), "src")
	writeFiles(t, src, map[string]string{"notes.txt": "first", "sub/report.PDF": "pdf"})
	c.ok("backup", "-q", src)
	writeFiles(t, src, map[string]string{"notes.txt": "second version"})
	c.ok("backup", "-q", src)
	snaps := listSnapshots(t, c)

	out := c.ok("find", "notes.txt")
	if strings.Count(out, "Found matching entries in snapshot") != 2 || strings.Count(out, src+"/notes.txt") != 2 {
		t.Fatalf("find notes.txt:\n%s", out)
	}
	var found []findJSON
	if err := json.Unmarshal([]byte(c.ok("find", "--json", "-i", "--snapshot", "latest", "*.pdf")), &found); err != nil {
		t.Fatal(err)
	}
	if len(found) != 1 || found[0].Snapshot != snaps[1].ID || found[0].Hits != 1 || found[0].Matches[0].Path != src+"/sub/report.PDF" {
		t.Fatalf("find --json -i --snapshot latest *.pdf: %+v", found)
	}
	if out := c.ok("find", "--json", "*.zip"); strings.TrimSpace(out) != "[]" {
		t.Fatalf("find without a match: %q, want []", out)
	}

	if got := c.ok("dump", snaps[0].ID, src+"/notes.txt"); got != "first" {
		t.Fatalf("dump of the first snapshot's file: %q", got)
	}
	target := filepath.Join(t.TempDir(), "out.tar")
	c.ok("dump", "--target", target, "latest", src)
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
	if r := c.run("dump", "latest", src+"/missing"); r.code != exitFatal || !strings.Contains(r.stderr, "not found") {
		t.Fatalf("dump of a missing path: exit %d, %q", r.code, r.stderr)
	}
}
