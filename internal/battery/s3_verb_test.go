package battery

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/cairn-backup/cairn/internal/clitest"
	"github.com/cairn-backup/cairn/remote/s3/s3test"
)

// verbs are the S3 requests the per-verb rows break one at a time.
var verbs = []s3test.Op{s3test.OpGet, s3test.OpPut, s3test.OpHead, s3test.OpList, s3test.OpDelete}

// transientOn are the faults a client with retries must cure on op without a trace:
// errors, resets, stalls, and for a GET a cut, slow or short-ranged body.
func transientOn(op s3test.Op) []s3test.Kind {
	ks := []s3test.Kind{s3test.SlowDown, s3test.ServerError, s3test.Reset, s3test.Hang}
	if op == s3test.OpGet {
		ks = append(ks, s3test.Truncate, s3test.Trickle, s3test.ShortRange)
	}
	return ks
}

// hostileOn are the faults on op that a client may fail on but must never take for
// the truth: a 404, a flipped byte, a PUT that stores nothing or a prefix, a listing
// empty, cut in half or stale.
func hostileOn(op s3test.Op) []s3test.Kind {
	switch op {
	case s3test.OpGet:
		return []s3test.Kind{s3test.NotFound, s3test.Flip}
	case s3test.OpPut:
		return []s3test.Kind{s3test.NotFound, s3test.LiePut, s3test.PrefixPut}
	case s3test.OpList:
		return []s3test.Kind{s3test.NotFound, s3test.EmptyList, s3test.ShortList, s3test.StaleList}
	}
	return []s3test.Kind{s3test.NotFound}
}

// verbRun is one per-verb row: a repository made directly, then used through a proxy
// that breaks only requests of one verb.
type verbRun struct {
	t             *testing.T
	direct, via   *clitest.CLI
	proxy         *s3test.FaultProxy
	src           string
	saved         map[string]map[string]string
	codes         []string
	hostile, fail bool
}

func newVerbRun(t *testing.T, op s3test.Op, kinds []s3test.Kind, s uint64) *verbRun {
	srv := s3test.Need(t)
	proxy, err := s3test.StartFaultProxy(t.Context(), s3test.Config{
		Upstream: srv.Endpoint, AccessKey: srv.AccessKey, SecretKey: srv.SecretKey,
		Seed: s, Rate: 0.25, MaxFaults: tier(8, 40), Kinds: kinds, Ops: []s3test.Op{op},
		Hang: 300 * time.Millisecond, Stale: 5 * time.Second,
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { proxy.Close() })
	direct := clitest.NewS3(t, cairnBin, srv, srv.Endpoint)
	direct.OK("init", "--pack-size", "1")
	proxy.Script(op, kinds[0]) // the row proves something even if the draws miss
	return &verbRun{t: t, direct: direct, via: direct.Through(srv.Endpoint, proxy.URL), proxy: proxy,
		src: filepath.Join(t.TempDir(), "src"), saved: map[string]map[string]string{}}
}

// run runs a command through the proxy: a transient row wants exit 0, a hostile one
// accepts 0, 1 or 3 (never "no repository", "wrong password" or a panic).
func (v *verbRun) run(args ...string) clitest.Result {
	r := v.via.Run(append(args, "--retry-budget", "20s")...)
	v.codes = append(v.codes, fmt.Sprintf("%s %d", args[0], r.Code))
	ok := r.Code == exitOK || v.hostile && (r.Code == exitFatal || r.Code == exitPartial || args[0] == "verify" && r.Code == exitDamage)
	if !ok || strings.Contains(r.Stderr, "panic:") {
		v.t.Errorf("%s through the proxy: exit %d\n%s%s", strings.Join(args, " "), r.Code, r.Stdout, r.Stderr)
	}
	return r
}

// rounds backs up a changing tree twice, restores the latest, forgets the older
// snapshot and verifies, all through the proxy.
func (v *verbRun) rounds(s uint64) {
	var latest map[string]string // the source at the last backup that exited 0
	for i := range 2 {
		clitest.BigRandomFiles(v.t, filepath.Join(v.src, fmt.Sprint(i)), 2, 200<<10, s+uint64(i))
		if r := v.run("backup", "--json", "-q", v.src); r.Code == exitOK {
			latest = clitest.TreeState(v.t, v.src)
			v.saved[backupOf(v.t, r.Stdout).Snapshot] = latest
		}
	}
	target := v.t.TempDir()
	if r := v.run("restore", "latest:"+v.src, "--target", target); r.Code == exitOK && latest != nil {
		clitest.SameState(v.t, latest, clitest.TreeState(v.t, target))
		count(0, 0, 0, 1, 0)
	}
	if r := v.run("forget", "--keep-last", "1"); r.Code == exitOK {
		ids := v.direct.SnapshotIDs(v.t)
		for id := range v.saved {
			if !slices.Contains(ids, id) {
				delete(v.saved, id)
			}
		}
	}
	v.run("verify")
}

// check reads the repository directly: verify --read-data is clean and every snapshot
// a backup reported saved (and forget kept) restores byte for byte.
func (v *verbRun) check() {
	if r := v.direct.Run("verify", "--read-data"); r.Code != exitOK {
		v.t.Errorf("verify --read-data, read directly: exit %d\n%s", r.Code, r.Stdout)
	}
	for id, want := range v.saved {
		target := v.t.TempDir()
		if r := v.direct.Run("restore", id+":"+v.src, "--target", target); r.Code != exitOK {
			v.t.Errorf("snapshot %s, reported saved: restore exit %d\n%s", id, r.Code, r.Stderr)
			count(0, 0, 0, 0, 1)
			continue
		}
		clitest.SameState(v.t, want, clitest.TreeState(v.t, target))
		count(0, 0, 0, 1, 0)
		os.RemoveAll(target)
	}
}

// TestS3FaultsOneVerbAtATime breaks the requests of one verb at a time (GET, PUT,
// HEAD, LIST, DELETE), 25 % of them, bounded (short: 8 faults, long: 40, one scripted
// first). Transient faults (errors, resets, 300 ms hangs, and on GET cut, trickled
// and short-ranged bodies): backup, restore, forget and verify all exit 0 and the
// restore is exact. Hostile ones (404s, flipped bytes, lying PUTs, empty, short and
// stale listings): commands exit 0, 1 or 3 (verify also 4) and never 10 or 12; read
// directly afterwards, verify --read-data is clean and every snapshot reported saved
// restores byte for byte.
func TestS3FaultsOneVerbAtATime(t *testing.T) {
	s3test.Need(t)
	s := seed(t, "S3 faults per verb")
	for _, op := range verbs {
		for _, hostile := range []bool{false, true} {
			kinds := transientOn(op)
			if hostile {
				kinds = hostileOn(op)
			}
			t.Run(fmt.Sprintf("%s/hostile=%v", op, hostile), func(t *testing.T) {
				t.Parallel() // each row has its own proxy and prefix; much of a row is waiting
				v := newVerbRun(t, op, kinds, s)
				v.hostile = hostile
				v.rounds(s)
				v.check()
				n := int(v.proxy.Counts().Faults)
				t.Logf("%d faults on %s (%v); exit codes %v", n, op, kinds, v.codes)
				if n == 0 {
					t.Errorf("no fault fired: the row proves nothing")
				}
				count(1, n, 0, 0, 0)
			})
		}
	}
}

// TestS3ConfigNotFound answers the config read with 404 (NoSuchKey) at a location
// that holds a repository: once, the command reads it again and exits 0; twice, it
// exits 1 saying the config is not found beside key files, never 10 ("no
// repository"), which stays the answer where there truly is none.
func TestS3ConfigNotFound(t *testing.T) {
	srv := s3test.Need(t)
	proxy, err := s3test.StartFaultProxy(t.Context(), s3test.Config{Upstream: srv.Endpoint})
	if err != nil {
		t.Fatal(err)
	}
	defer proxy.Close()
	direct := clitest.NewS3(t, cairnBin, srv, srv.Endpoint)
	direct.OK("init")
	c := direct.Through(srv.Endpoint, proxy.URL)
	key := repoKey(direct, srv)
	for n, want := range map[int]int{1: exitOK, 2: exitFatal} {
		proxy.ScriptKey(s3test.OpGet, key+"/config", s3test.NotFound, n)
		r := c.Run("snapshots")
		count(1, n, 0, 0, 0)
		t.Logf("%d 404s on the config: exit %d %s", n, r.Code, firstLine(r.Stderr))
		if r.Code != want || want == exitFatal && !strings.Contains(r.Stderr, "config") {
			t.Errorf("%d 404s on the config: exit %d, want %d\n%s", n, r.Code, want, r.Stderr)
		}
		proxy.EndScripts()
	}
	// A 404 on the config and, at the same time, a listing of the key files cut short
	// (found by the long S3 fault run: exit 10 twice in 918 rounds): still no "no
	// repository" — it is looked at again.
	for _, k := range []s3test.Kind{s3test.ShortList, s3test.EmptyList} {
		proxy.ScriptKey(s3test.OpGet, key+"/config", s3test.NotFound, 1)
		proxy.ScriptList(key+"/keys/", k, 1)
		r := c.Run("snapshots")
		count(1, 2, 0, 0, 0)
		if r.Code != exitOK {
			t.Errorf("a 404 on the config and a %s of the key files: exit %d, want %d\n%s", k, r.Code, exitOK, r.Stderr)
		}
		proxy.EndScripts()
	}
	empty := clitest.NewS3(t, cairnBin, srv, proxy.URL)
	if r := empty.Run("snapshots"); r.Code != 10 {
		t.Errorf("a prefix without a repository: exit %d, want 10\n%s", r.Code, r.Stderr)
	}
}
