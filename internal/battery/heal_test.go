package battery

import (
	"encoding/json"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/cairn-backup/cairn/internal/clitest"
	"github.com/cairn-backup/cairn/internal/digest"
	"github.com/cairn-backup/cairn/internal/repo"
)

// packsHolding returns the indexed packs holding blobs of type typ, sorted.
func packsHolding(t *testing.T, c *clitest.CLI, typ repo.BlobType) []string {
	r := c.Open(t)
	defer r.Close()
	set := map[digest.ID]bool{}
	r.EachBlob(func(b repo.Blob) bool {
		if b.Type == typ {
			set[b.Pack] = true
		}
		return true
	})
	var out []string
	for id := range set {
		out = append(out, id.String())
	}
	slices.Sort(out)
	return out
}

func packPath(c *clitest.CLI, id string) string { return filepath.Join(c.Repo, "data", id[:2], id) }

// randomize replaces the file at p by as many random bytes.
func randomize(t *testing.T, p string, rng *rand.Rand) {
	data, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	for i := range data {
		data[i] = byte(rng.Uint32())
	}
	if err := os.WriteFile(p, data, 0o600); err != nil {
		t.Fatal(err)
	}
}

// healBase is a local repository with one backup of a source of several packs.
func healBase(t *testing.T) (*clitest.CLI, string) {
	c := clitest.New(t, cairnBin)
	c.OK("init", "--pack-size", "1")
	src := filepath.Join(t.TempDir(), "src")
	clitest.BigRandomFiles(t, src, 4, 600<<10, 31)
	clitest.WriteFiles(t, src, map[string]string{"small/a": "alpha", "small/b": "beta"})
	c.OK("backup", "-q", src)
	return c, src
}

// TestRandomPackAndPlainVerify holds verify to docs/verify.md: the structure check
// (plain verify) reads tree packs but only lists data packs (presence and size), so a
// data pack replaced by random bytes of its size passes it (exit 0) and is caught by
// --read-data (exit 4); a tree pack so replaced is caught by plain verify (exit 4).
func TestRandomPackAndPlainVerify(t *testing.T) {
	t.Parallel()
	rng := rand.New(rand.NewPCG(seed(t, "random packs"), 1))
	for _, typ := range []repo.BlobType{repo.DataBlob, repo.TreeBlob} {
		c, _ := healBase(t)
		packs := packsHolding(t, c, typ)
		if len(packs) == 0 {
			t.Fatalf("no pack holds %v blobs", typ)
		}
		id := packs[rng.IntN(len(packs))]
		randomize(t, packPath(c, id), rng)
		count(1, 1, 0, 0, 0)
		plain, full := c.Run("verify"), c.Run("verify", "--read-data")
		t.Logf("%v pack %s replaced: verify exit %d, --read-data exit %d", typ, id[:8], plain.Code, full.Code)
		want := exitOK
		if typ == repo.TreeBlob {
			want = exitDamage
		}
		if plain.Code != want {
			t.Errorf("%v pack of random bytes: plain verify exit %d, want %d\n%s", typ, plain.Code, want, plain.Stdout)
		}
		if full.Code != exitDamage || !strings.Contains(full.Stdout, id[:8]) {
			t.Errorf("%v pack of random bytes: verify --read-data exit %d, want %d naming %s\n%s", typ, full.Code, exitDamage, id[:8], full.Stdout)
		}
	}
}

// TestDeletedPackHealedByNextBackup deletes a data pack, then backs up the unchanged
// source again. The backup heals: exit 0, the lost blobs stored again (bytes added);
// both snapshots, the new and the one made before the loss, restore byte for byte.
// verify resolves each blob to its copy in a pack the storage has, as restore does:
// no damage (exit 0), the lost pack named in a pack-gone warning (docs/verify.md);
// after 'repair index' drops its entries, verify --read-data is clean, without it.
func TestDeletedPackHealedByNextBackup(t *testing.T) {
	t.Parallel()
	c, src := healBase(t)
	want := clitest.TreeState(t, src)
	before := c.SnapshotIDs(t)[0]
	rng := rand.New(rand.NewPCG(seed(t, "deleted pack"), 2))
	packs := packsHolding(t, c, repo.DataBlob)
	id := packs[rng.IntN(len(packs))]
	info, err := os.Stat(packPath(c, id))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Remove(packPath(c, id)); err != nil {
		t.Fatal(err)
	}
	count(1, 1, 0, 0, 0)
	sum := backupOf(t, c.OK("backup", "--json", "-q", src))
	t.Logf("pack %s (%d bytes) deleted; the next backup added %d bytes", id[:8], info.Size(), sum.BytesAdded)
	if sum.BytesAdded == 0 {
		t.Fatalf("the backup after losing %d bytes of pack added %d: it did not heal", info.Size(), sum.BytesAdded)
	}
	for _, snap := range []string{sum.Snapshot, before} {
		target := t.TempDir()
		c.OK("restore", snap+":"+src, "--target", target)
		clitest.SameState(t, want, clitest.TreeState(t, target))
		count(0, 0, 0, 1, 0)
	}
	v := c.Run("verify")
	t.Logf("verify after healing: exit %d, %s", v.Code, lastLine(v.Stdout))
	if v.Code != exitOK || !strings.Contains(v.Stdout, "pack-gone") || !strings.Contains(v.Stdout, id[:8]) ||
		strings.Contains(v.Stdout, "affected") || !strings.Contains(v.Stdout, "no damage found") {
		t.Errorf("verify after healing: exit %d, want %d with a pack-gone warning naming %s and no file affected\n%s", v.Code, exitOK, id[:8], v.Stdout)
	}
	c.OK("repair", "index")
	if out := c.OK("verify", "--read-data"); !strings.Contains(out, "no damage found") || strings.Contains(out, "pack-gone") || strings.Contains(out, id[:8]) {
		t.Errorf("verify --read-data after repair index, want it clean and silent on %s:\n%s", id[:8], out)
	}
}

// TestOverlappingBackups starts two backups of the same host and paths at once, on a
// new repository and then on one with a history, tier(2, 6) rounds in all: both exit
// 0; verify exits 0 (never damage: the chain-broken), and warns of a fork
// whenever the two snapshots name the same predecessor (or none: neither saw the
// other); every snapshot restores byte for byte. Whether two runs overlap depends on
// the machine's speed, so it is logged, not required.
func TestOverlappingBackups(t *testing.T) {
	t.Parallel()
	c := clitest.New(t, cairnBin)
	c.OK("init", "--pack-size", "1")
	src := filepath.Join(t.TempDir(), "src")
	s := seed(t, "overlapping backups")
	forks := 0
	for round := range tier(2, 6) {
		clitest.BigRandomFiles(t, filepath.Join(src, "r"), 3, 400<<10, s+uint64(round))
		want := clitest.TreeState(t, src)
		a, b := c.Cmd("backup", "--json", "-q", src), c.Cmd("backup", "--json", "-q", src)
		var ra, rb clitest.Result
		done := make(chan struct{})
		go func() { ra = clitest.RunCmd(t, a); close(done) }()
		rb = clitest.RunCmd(t, b)
		<-done
		count(1, 1, 0, 0, 0)
		if ra.Code != exitOK || rb.Code != exitOK {
			t.Fatalf("round %d: overlapping backups exit %d and %d\n%s%s", round, ra.Code, rb.Code, ra.Stderr, rb.Stderr)
		}
		v := c.Run("verify")
		if v.Code != exitOK {
			t.Fatalf("round %d: verify after overlapping backups: exit %d\n%s", round, v.Code, v.Stdout)
		}
		sa, sb := backupOf(t, ra.Stdout).Snapshot, backupOf(t, rb.Stdout).Snapshot
		if prev := previousOf(t, c); prev[sa] == prev[sb] { // neither saw the other: a fork
			forks++
			if !strings.Contains(v.Stdout, "fork") {
				t.Errorf("round %d: snapshots %s and %s both follow %q, and verify does not warn of a fork\n%s", round, sa[:8], sb[:8], prev[sa], v.Stdout)
			}
		}
		for _, snap := range []string{sa, sb} {
			target := t.TempDir()
			c.OK("restore", snap+":"+src, "--target", target)
			clitest.SameState(t, want, clitest.TreeState(t, target))
			count(0, 0, 0, 1, 0)
		}
	}
	t.Logf("%d of %d rounds overlapped (both backups named the same predecessor) and verify warned of a fork", forks, tier(2, 6))
}

// previousOf maps each snapshot's id to the id of the predecessor it names.
func previousOf(t *testing.T, c *clitest.CLI) map[string]string {
	var snaps []struct {
		ID       string `json:"id"`
		Previous string `json:"previous"`
	}
	if err := json.Unmarshal([]byte(c.OK("snapshots", "--json")), &snaps); err != nil {
		t.Fatal(err)
	}
	out := map[string]string{}
	for _, s := range snaps {
		out[s.ID] = s.Previous
	}
	return out
}
