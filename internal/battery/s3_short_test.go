package battery

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/cairn-backup/cairn/internal/clitest"
	"github.com/cairn-backup/cairn/remote/s3/s3test"
)

// repoKey is the key prefix of c's S3 repository in its bucket, for scripted faults.
func repoKey(c *clitest.CLI, srv *s3test.Server) string {
	_, key, _ := strings.Cut(strings.TrimPrefix(c.Direct, "s3:"+srv.Endpoint+"/"), "/")
	return key
}

// scriptedRepo is a new S3 repository (packs of 1 MiB) reached directly and through a
// fault proxy that breaks only what a test scripts, and its key prefix in the bucket.
func scriptedRepo(t *testing.T, srv *s3test.Server) (direct, via *clitest.CLI, proxy *s3test.FaultProxy, key string) {
	proxy, err := s3test.StartFaultProxy(t.Context(), s3test.Config{
		Upstream: srv.Endpoint, AccessKey: srv.AccessKey, SecretKey: srv.SecretKey, Rate: 0,
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { proxy.Close() })
	direct = clitest.NewS3(t, cairnBin, srv, srv.Endpoint)
	direct.OK("init", "--pack-size", "1")
	return direct, direct.Through(srv.Endpoint, proxy.URL), proxy, repoKey(direct, srv)
}

// shortSegmentRepo is an S3 repository whose one backup failed because every upload
// of its index segments was stored as a prefix, reached directly and through the proxy
// (faults ended), with the source that backup read and one directory more; the proxy
// closes with the test.
func shortSegmentRepo(t *testing.T) (direct, via *clitest.CLI, src string) {
	srv := s3test.Need(t)
	direct, via, proxy, key := scriptedRepo(t, srv)
	src = filepath.Join(t.TempDir(), "src")
	clitest.BigRandomFiles(t, filepath.Join(src, "0"), 3, 300<<10, 1)
	proxy.ScriptKey(s3test.OpPut, key+"/index/", s3test.PrefixPut, 1000)
	r := via.Run("backup", "--json", "-q", "--retry-budget", "5s", src)
	proxy.EndScripts()
	if r.Code != exitFatal || proxy.Fired(s3test.PrefixPut) == 0 {
		t.Fatalf("backup while every segment is stored short: exit %d after %d short PUTs, want %d\n%s%s",
			r.Code, proxy.Fired(s3test.PrefixPut), exitFatal, r.Stdout, r.Stderr)
	}
	count(1, proxy.Fired(s3test.PrefixPut), 0, 0, 0)
	clitest.BigRandomFiles(t, filepath.Join(src, "1"), 1, 100<<10, 2)
	return direct, via, src
}

// TestShortSegmentHealedByNextBackup: a lying server stores every upload of the first
// backup's index segments as a prefix (and acknowledges it), so that backup fails its
// check of them (exit 1, no snapshot) and leaves a short segment behind, while its
// cache holds the segment whole. The next backup on that host reuses the blobs the
// segment lists; it must not leave its snapshot relying on the short copy: read
// directly (no cache on the way), verify --read-data is clean and the snapshot
// restores byte for byte. (Found by the long S3 fault run: 3 snapshots relied on a
// segment stored as 25 bytes.)
func TestShortSegmentHealedByNextBackup(t *testing.T) {
	t.Parallel()
	direct, via, src := shortSegmentRepo(t)
	want := clitest.TreeState(t, src)
	r := via.Run("backup", "--json", "-q", src)
	if r.Code != exitOK || !strings.Contains(r.Stderr, "stored again") {
		t.Fatalf("the next backup: exit %d, want %d and a warning that it stored the segment again\n%s", r.Code, exitOK, r.Stderr)
	}
	sum := backupOf(t, r.Stdout)
	if v := direct.Run("verify", "--read-data"); v.Code != exitOK {
		t.Errorf("verify --read-data, read directly after the next backup: exit %d, want %d\n%s%s",
			v.Code, exitOK, v.Stdout, v.Stderr)
	}
	target := t.TempDir() // as on a new machine: no cache
	if r := direct.Run("restore", sum.Snapshot+":"+src, "--target", target, "--no-cache"); r.Code != exitOK ||
		strings.Contains(r.Stderr, "damaged") {
		t.Fatalf("restore on a new machine: exit %d\n%s", r.Code, r.Stderr)
	}
	clitest.SameState(t, want, clitest.TreeState(t, target))
	count(0, 0, 0, 1, 0)
}

// TestShortLocalSegmentHealed is the same on a local repository: an index segment cut
// short in storage while this host's cache holds it whole is stored again by the next
// backup, so verify --read-data, which reads the storage, is clean afterwards.
func TestShortLocalSegmentHealed(t *testing.T) {
	t.Parallel()
	c, src := healBase(t)
	segs, err := filepath.Glob(filepath.Join(c.Repo, "index", "*"))
	if err != nil || len(segs) == 0 {
		t.Fatalf("no index segment in %s (%v)", c.Repo, err)
	}
	if err := os.Truncate(segs[0], 25); err != nil {
		t.Fatal(err)
	}
	if r := c.Run("backup", "-q", src); r.Code != exitOK || !strings.Contains(r.Stderr, "stored again") {
		t.Fatalf("the next backup: exit %d, want %d and a warning that it stored the segment again\n%s", r.Code, exitOK, r.Stderr)
	}
	if v := c.Run("verify", "--read-data"); v.Code != exitOK {
		t.Errorf("verify --read-data after the next backup: exit %d, want %d\n%s", v.Code, exitOK, v.Stdout)
	}
	count(1, 1, 0, 0, 0)
}

// TestShortSegmentOnNewMachine: the segment stored short as above, then a backup on a
// new machine (no cache): it skips the damaged segment, finds the blobs it listed in
// the packs' own headers and reuses them. verify --read-data reports the damaged
// segment (exit 4) but, finding those blobs where the restore does, no snapshot as
// affected; after 'repair index' it is clean, and the snapshot restores byte for byte.
func TestShortSegmentOnNewMachine(t *testing.T) {
	t.Parallel()
	direct, via, src := shortSegmentRepo(t)
	want := clitest.TreeState(t, src)
	sum := backupOf(t, via.OK("backup", "--json", "-q", "--no-cache", src))
	v := direct.Run("verify", "--read-data", "--no-cache")
	if v.Code != exitDamage || !strings.Contains(v.Stdout, "index-damaged") || strings.Contains(v.Stdout, "cannot be restored") ||
		strings.Contains(v.Stdout, "repair snapshots") {
		t.Errorf("verify --read-data: exit %d, want %d naming the damaged segment and no snapshot affected\n%s",
			v.Code, exitDamage, v.Stdout)
	}
	direct.OK("repair", "index", "--no-cache")
	direct.OK("verify", "--read-data", "--no-cache")
	target := t.TempDir()
	direct.OK("restore", sum.Snapshot+":"+src, "--target", target, "--no-cache")
	clitest.SameState(t, want, clitest.TreeState(t, target))
	count(0, 0, 0, 1, 0)
}

// TestShortRunNoteAndSnapshotSentAgain: the first upload of a backup's run note, or of
// its snapshot record, is stored as a prefix and acknowledged. The backup's checks
// (made beside the requests after them) find it short and send it again: exit 0, and
// read directly, verify --read-data is clean and the snapshot restores byte for byte.
func TestShortRunNoteAndSnapshotSentAgain(t *testing.T) {
	t.Parallel()
	srv := s3test.Need(t)
	for _, folder := range []string{"locks", "snapshots"} {
		direct, via, proxy, key := scriptedRepo(t, srv)
		src := filepath.Join(t.TempDir(), "src")
		clitest.BigRandomFiles(t, src, 2, 100<<10, 3)
		via.OK("backup", "-q", src) // a history: the second backup is a no-change one
		proxy.ScriptKey(s3test.OpPut, key+"/"+folder+"/", s3test.PrefixPut, 1)
		r := via.Run("backup", "--json", "-q", src)
		proxy.Close()
		if proxy.Fired(s3test.PrefixPut) != 1 || r.Code != exitOK {
			t.Fatalf("%s: the first upload stored short (%d fired): exit %d, want %d\n%s",
				folder, proxy.Fired(s3test.PrefixPut), r.Code, exitOK, r.Stderr)
		}
		count(1, 1, 0, 0, 0)
		direct.OK("verify", "--read-data")
		target := t.TempDir()
		direct.OK("restore", backupOf(t, r.Stdout).Snapshot+":"+src, "--target", target, "--no-cache")
		clitest.SameState(t, clitest.TreeState(t, src), clitest.TreeState(t, target))
		count(0, 0, 0, 1, 0)
	}
}

// TestSnapshotStoredShortTakenBack: every upload of a backup's snapshot record is
// stored as a prefix and acknowledged, so the backup fails its check (exit 1). It takes
// the record back: read directly, verify --read-data is clean (no damaged record of a
// snapshot that was never made), and the next backup succeeds and restores.
func TestSnapshotStoredShortTakenBack(t *testing.T) {
	t.Parallel()
	srv := s3test.Need(t)
	direct, via, proxy, key := scriptedRepo(t, srv)
	src := filepath.Join(t.TempDir(), "src")
	clitest.BigRandomFiles(t, src, 2, 100<<10, 4)
	proxy.ScriptKey(s3test.OpPut, key+"/snapshots/", s3test.PrefixPut, 1000)
	r := via.Run("backup", "-q", "--retry-budget", "5s", src)
	proxy.EndScripts()
	if r.Code != exitFatal || proxy.Fired(s3test.PrefixPut) == 0 {
		t.Fatalf("backup whose snapshot record is stored short: exit %d after %d short PUTs, want %d\n%s",
			r.Code, proxy.Fired(s3test.PrefixPut), exitFatal, r.Stderr)
	}
	count(1, proxy.Fired(s3test.PrefixPut), 0, 0, 0)
	if v := direct.Run("verify", "--read-data"); v.Code != exitOK {
		t.Errorf("verify --read-data after the failed backup: exit %d, want %d\n%s", v.Code, exitOK, v.Stdout)
	}
	sum := backupOf(t, via.OK("backup", "--json", "-q", src))
	target := t.TempDir()
	direct.OK("restore", sum.Snapshot+":"+src, "--target", target, "--no-cache")
	clitest.SameState(t, clitest.TreeState(t, src), clitest.TreeState(t, target))
	count(0, 0, 0, 1, 0)
}
