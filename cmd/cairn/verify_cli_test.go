package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/cairn-backup/cairn/backup/verify"
	"github.com/cairn-backup/cairn/internal/repo"
)

// backedUp makes a repository with one snapshot of a small tree and returns the tree.
func backedUp(t *testing.T, c *cli) string {
	t.Helper()
	c.OK("init")
	src := filepath.Join(t.TempDir(), "src")
	writeFiles(t, src, map[string]string{"a.txt": "alpha", "d/b.txt": "beta", "d/c.txt": strings.Repeat("gamma ", 5_000)})
	c.OK("backup", "-q", src)
	return src
}

func TestVerifyFindsDamageAndNamesTheFile(t *testing.T) {
	c := newCLI(t)
	src := backedUp(t, c)
	if out := c.OK("verify", "--read-data"); !strings.Contains(out, "no damage found") {
		t.Fatalf("verify of a fresh repository:\n%s", out)
	}
	// Damage d/c.txt's data: the largest data blob.
	r := openForTest(t, c)
	var big repo.Blob
	r.EachBlob(func(loc repo.Blob) bool {
		typ := loc.Type
		if typ == repo.DataBlob && loc.Length > big.Length {
			big = loc
		}
		return true
	})
	r.Close()
	pack := big.Pack
	file := filepath.Join(c.Repo, "data", pack.String()[:2], pack.String())
	b, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	b[big.Offset+big.Length/2] ^= 1
	if err := os.WriteFile(file, b, 0o600); err != nil {
		t.Fatal(err)
	}
	if res := c.Run("verify"); res.Code != 0 {
		t.Fatalf("the structure check reads no data blob, yet exit %d:\n%s", res.Code, res.Stdout)
	}
	res := c.Run("verify", "--read-data", "--json")
	var rep verify.Report
	if err := json.Unmarshal([]byte(res.Stdout), &rep); err != nil {
		t.Fatalf("verify --json: %v\n%s", err, res.Stdout)
	}
	if res.Code != exitDamage || len(rep.Affected) != 1 || rep.Affected[0].Path != src+"/d/c.txt" {
		t.Fatalf("exit %d, affected %+v", res.Code, rep.Affected)
	}
	text := c.Run("verify", "--read-data-subset", "1/1")
	if text.Code != exitDamage || !strings.Contains(text.Stdout, src+"/d/c.txt") || !strings.Contains(text.Stdout, "DAMAGE") {
		t.Fatalf("exit %d:\n%s", text.Code, text.Stdout)
	}
}

func TestVerifyNoticesRollback(t *testing.T) {
	c := newCLI(t)
	src := backedUp(t, c)
	writeFiles(t, src, map[string]string{"new": "x"})
	c.OK("backup", "-q", src)
	c.OK("verify") // remembers both snapshots
	var snaps []snapshotJSON
	if err := json.Unmarshal([]byte(c.OK("snapshots", "--json")), &snaps); err != nil || len(snaps) != 2 {
		t.Fatalf("snapshots: %v %d", err, len(snaps))
	}
	if err := os.Remove(filepath.Join(c.Repo, "snapshots", snaps[1].ID)); err != nil {
		t.Fatal(err)
	}
	res := c.Run("verify")
	if res.Code != exitDamage || !strings.Contains(res.Stdout, "rolled-back") {
		t.Fatalf("latest snapshot deleted: exit %d\n%s", res.Code, res.Stdout)
	}
	c.OK("verify", "--accept-history")
	c.OK("verify")
}

func TestVerifyAgainstReadsOnlyChangedFiles(t *testing.T) {
	c := newCLI(t)
	src := backedUp(t, c)
	d := filepath.Join(src, "d")
	fi, _ := os.Stat(d)
	writeFiles(t, src, map[string]string{"d/new.txt": "0123456789", "a.txt": "ALPHA"})
	if err := os.Remove(filepath.Join(d, "b.txt")); err != nil {
		t.Fatal(err)
	}
	if err := os.Chtimes(d, time.Time{}, fi.ModTime()); err != nil {
		t.Fatal(err)
	}
	out := c.OK("verify", "--json", "--against", src)
	lines := strings.Split(strings.TrimSpace(out), "\n")
	var changes []string
	for _, l := range lines[:len(lines)-1] {
		var ch changeJSON
		if err := json.Unmarshal([]byte(l), &ch); err != nil {
			t.Fatal(err)
		}
		changes = append(changes, ch.Change+" "+ch.Path)
	}
	slices.Sort(changes)
	want := []string{"added " + d + "/new.txt", "modified " + src + "/a.txt", "removed " + d + "/b.txt"}
	var sum verify.Comparison
	if err := json.Unmarshal([]byte(lines[len(lines)-1]), &sum); err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(changes, want) || sum.BytesRead != 15 || sum.FilesRead != 2 || sum.Equal {
		t.Fatalf("changes %q, want %q; summary %+v (want 15 bytes of 2 files read)", changes, want, sum)
	}
}

func TestProofWithoutRepository(t *testing.T) {
	c := newCLI(t)
	src := backedUp(t, c)
	file := filepath.Join(src, "d", "c.txt")
	proof := filepath.Join(t.TempDir(), "proof.json")
	if err := os.WriteFile(proof, []byte(c.OK("proof", "latest", file)), 0o600); err != nil {
		t.Fatal(err)
	}
	var snaps []snapshotJSON
	if err := json.Unmarshal([]byte(c.OK("snapshots", "--json")), &snaps); err != nil {
		t.Fatal(err)
	}
	root := snaps[0].Root

	// Someone else: no repository, no password.
	var env []string
	for _, kv := range c.Env {
		if !strings.HasPrefix(kv, "CAIRN_REPO=") && !strings.HasPrefix(kv, "CAIRN_PASSWORD=") {
			env = append(env, kv)
		}
	}
	other := &cli{T: t, Bin: cairnBin, Env: env}
	out := other.OK("verify-proof", proof, "--root", root, "--file", file)
	if !strings.Contains(out, "proof holds") || !strings.Contains(out, "is the proven file") {
		t.Fatalf("verify-proof:\n%s", out)
	}
	if out := other.OK("verify-proof", proof); !strings.Contains(out, "warning: no --root") {
		t.Fatalf("verify-proof without --root:\n%s", out)
	}
	wrong := strings.Repeat("0", 64)
	if r := other.Run("verify-proof", proof, "--root", wrong); r.Code != exitDamage {
		t.Fatalf("another root: exit %d %s", r.Code, r.Stderr)
	}
	edited := filepath.Join(t.TempDir(), "c.txt")
	data, _ := os.ReadFile(file)
	data[len(data)/2] ^= 1
	if err := os.WriteFile(edited, data, 0o600); err != nil {
		t.Fatal(err)
	}
	if r := other.Run("verify-proof", proof, "--root", root, "--file", edited); r.Code != exitDamage || !strings.Contains(r.Stderr, "does not verify") {
		t.Fatalf("an edited file: exit %d %s", r.Code, r.Stderr)
	}
	b, _ := os.ReadFile(proof)
	i := strings.Index(string(b), `"audit_path": [`) + 25 // a hex digit of the first sibling hash
	if b[i] == '0' {
		b[i] = '1'
	} else {
		b[i] = '0'
	}
	if err := os.WriteFile(proof, b, 0o600); err != nil {
		t.Fatal(err)
	}
	if r := other.Run("verify-proof", proof, "--root", root); r.Code != exitDamage {
		t.Fatalf("an altered proof: exit %d %s", r.Code, r.Stderr)
	}
}
