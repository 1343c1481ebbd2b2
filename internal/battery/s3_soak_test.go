package battery

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/cairn-backup/cairn/internal/clitest"
	"github.com/cairn-backup/cairn/remote/s3/s3test"
)

// soakFaults are the S3 faults of the long run: every kind the proxy has, on every
// verb it applies to (errors, resets, hangs, cut, trickled, short-ranged and flipped
// bodies, lying PUTs, short and stale listings, 404s).
var soakFaults = []s3test.Kind{s3test.SlowDown, s3test.ServerError, s3test.Reset, s3test.Hang,
	s3test.Truncate, s3test.Flip, s3test.LiePut, s3test.PrefixPut, s3test.ShortList, s3test.NotFound,
	s3test.Trickle, s3test.ShortRange, s3test.StaleList}

// s3Duration is how long TestS3FaultRun runs: CAIRN_SOAK_DURATION in the long tier
// (default 30m, make soak's), 10 s in the short one (the per-verb rows fire every
// kind there too).
func s3Duration(t *testing.T) time.Duration {
	if v := os.Getenv("CAIRN_SOAK_DURATION"); v != "" && longTier() {
		d, err := time.ParseDuration(v)
		if err != nil {
			t.Fatalf("CAIRN_SOAK_DURATION=%q: %v", v, err)
		}
		return d
	}
	return tier(10*time.Second, 30*time.Minute)
}

// TestS3FaultRun backs up a changing tree through a fault proxy that breaks 10 % of
// the requests with any fault, restoring through it now and then, for s3Duration.
// Commands may fail (exit 1, or 3 for a restore that could not read some data), never
// with another code (a 404 is no "no repository"); what
// one reports as saved must hold: at the end, read directly, a backup heals what
// failed rounds left, verify --read-data is clean and every snapshot a backup
// reported restores byte for byte.
func TestS3FaultRun(t *testing.T) {
	srv := s3test.Need(t)
	s := seed(t, "S3 fault run")
	proxy, err := s3test.StartFaultProxy(t.Context(), s3test.Config{
		Upstream: srv.Endpoint, AccessKey: srv.AccessKey, SecretKey: srv.SecretKey,
		Seed: s, Rate: 0.1, MaxFaults: 1_000_000, Kinds: soakFaults, Hang: 2 * time.Second,
	})
	if err != nil {
		t.Fatal(err)
	}
	defer proxy.Close()
	direct := clitest.NewS3(t, cairnBin, srv, srv.Endpoint)
	direct.OK("init", "--pack-size", "1")
	c := direct.Through(srv.Endpoint, proxy.URL)
	src := filepath.Join(t.TempDir(), "src")
	saved := map[string]map[string]string{}
	deadline := time.Now().Add(s3Duration(t))
	round, codes := 0, map[string]int{}
	// Past the deadline, up to 10 rounds more while no backup has succeeded yet.
	for ; round < 100_000 && (time.Now().Before(deadline) || len(saved) == 0 && round < 10); round++ {
		clitest.BigRandomFiles(t, filepath.Join(src, fmt.Sprint(round%4)), 2, 200<<10, s+uint64(round))
		r := c.Run("backup", "--json", "-q", "--retry-budget", "5s", src)
		codes[fmt.Sprintf("backup %d", r.Code)]++
		if r.Code == exitOK {
			saved[backupOf(t, r.Stdout).Snapshot] = clitest.TreeState(t, src)
		}
		if round%3 == 2 {
			target := t.TempDir()
			r := c.Run("restore", "latest:"+src, "--target", target, "--retry-budget", "5s")
			codes[fmt.Sprintf("restore %d", r.Code)]++
			if r.Code == exitOK && len(saved) > 0 {
				count(0, 0, 0, 1, 0)
			}
			os.RemoveAll(target)
		}
	}
	faults := int(proxy.Counts().Faults)
	t.Logf("%d rounds, %d faults fired, exit codes %v", round, faults, codes)
	for code, n := range codes {
		if !strings.HasSuffix(code, " 0") && !strings.HasSuffix(code, " 1") && !strings.HasSuffix(code, " 3") {
			t.Errorf("%d × %s: a fault is reported as something else than a failure (10: no repository, 12: wrong password)", n, code)
		}
	}
	if faults == 0 || len(saved) == 0 {
		t.Fatalf("%d faults, %d snapshots saved: the run proves nothing", faults, len(saved))
	}
	// The last rounds may have failed and left what a lying server stored short; the
	// next backup stores it again (RELIABILITY 5), so one runs, directly, before the
	// check. Its snapshot is checked like the others.
	if r := direct.Run("backup", "--json", "-q", src); r.Code == exitOK {
		saved[backupOf(t, r.Stdout).Snapshot] = clitest.TreeState(t, src)
	} else {
		t.Errorf("backup read directly after the run: exit %d\n%s", r.Code, r.Stderr)
	}
	if r := direct.Run("verify", "--read-data"); r.Code != exitOK {
		t.Errorf("verify --read-data after the run: exit %d\n%s%s", r.Code, r.Stdout, r.Stderr)
	}
	lost := 0
	for id, want := range saved {
		target := t.TempDir()
		if r := direct.Run("restore", id+":"+src, "--target", target); r.Code != exitOK {
			t.Errorf("snapshot %s, reported saved: restore exit %d\n%s", id, r.Code, r.Stderr)
			lost++
			continue
		}
		clitest.SameState(t, want, clitest.TreeState(t, target))
		os.RemoveAll(target)
	}
	count(round, faults, 0, len(saved), lost)
	logFigures(t)
}
