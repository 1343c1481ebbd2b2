package battery

import (
	"encoding/json"
	"github.com/cairn-backup/cairn/internal/clitest"
	"github.com/cairn-backup/cairn/remote/s3/s3test"
	"path/filepath"
	"strings"
	"testing"
)

func TestS3BackupThroughTwentyPercentFaults(t *testing.T) {
	srv := s3test.Need(t)
	proxy, err := s3test.StartFaultProxy(t.Context(), s3test.Config{
		Upstream: srv.Endpoint, Seed: 20, Rate: 0.2, MaxFaults: 10000,
		Kinds: []s3test.Kind{s3test.SlowDown, s3test.ServerError, s3test.Reset, s3test.Truncate},
	})
	if err != nil {
		t.Fatal(err)
	}
	defer proxy.Close()
	c := clitest.NewS3(t, cairnBin, srv, proxy.URL)
	c.OK("init", "--pack-size", "1")
	src := filepath.Join(t.TempDir(), "src")
	clitest.BigRandomFiles(t, src, 12, 700<<10, 3)
	clitest.WriteFiles(t, src, map[string]string{"small/a": "a", "small/b": "b"})
	c.OK("backup", src)
	c.OK("snapshots")
	if n := proxy.Counts().Faults; n < 5 {
		t.Fatalf("only %d faults fired: the test proves nothing", n)
	}
	c.CheckConsistent(t)
	c.CheckContent(t, src)
}

func TestS3StorageDownLongerThanBudget(t *testing.T) {
	srv := s3test.Need(t)
	proxy, err := s3test.StartFaultProxy(t.Context(), s3test.Config{
		Upstream: srv.Endpoint, Seed: 1, Rate: 0, Kinds: []s3test.Kind{s3test.ServerError},
	})
	if err != nil {
		t.Fatal(err)
	}
	defer proxy.Close()
	c := clitest.NewS3(t, cairnBin, srv, proxy.URL)
	c.OK("init")
	src := filepath.Join(t.TempDir(), "src")
	clitest.BigRandomFiles(t, src, 4, 300<<10, 5)
	down, err := s3test.StartFaultProxy(t.Context(), s3test.Config{
		Upstream: srv.Endpoint, Seed: 2, Rate: 1, MaxFaults: 100000, Kinds: []s3test.Kind{s3test.ServerError},
	})
	if err != nil {
		t.Fatal(err)
	}
	defer down.Close()
	outage := c.Through(proxy.URL, down.URL)
	r := outage.Run("backup", "--retry-budget", "2s", src)
	t.Logf("with the storage down: %s", strings.TrimSpace(r.Stderr))
	if r.Code != exitFatal || !strings.Contains(r.Stderr, "gave up") {
		t.Fatalf("backup with the storage down: exit %d, want %d\n%s", r.Code, exitFatal, r.Stderr)
	}
	if out := c.OK("snapshots"); !strings.Contains(out, "0 snapshots") {
		t.Fatalf("a failed backup left a snapshot:\n%s", out)
	}
	var sum backupSummary
	if err := json.Unmarshal([]byte(c.OK("backup", "--json", "-q", src)), &sum); err != nil || sum.Snapshot == "" {
		t.Fatalf("backup after the outage: %v", err)
	}
	c.CheckConsistent(t)
}

func TestS3LyingStorageNeverYieldsABrokenSnapshot(t *testing.T) {
	srv := s3test.Need(t)
	proxy, err := s3test.StartFaultProxy(t.Context(), s3test.Config{
		Upstream: srv.Endpoint, AccessKey: srv.AccessKey, SecretKey: srv.SecretKey,
		Seed: 9, Rate: 0.3, MaxFaults: 10000, Kinds: []s3test.Kind{s3test.LiePut, s3test.PrefixPut},
	})
	if err != nil {
		t.Fatal(err)
	}
	defer proxy.Close()
	c := clitest.NewS3(t, cairnBin, srv, srv.Endpoint)
	c.OK("init", "--pack-size", "1")
	liar := c.Through(srv.Endpoint, proxy.URL)
	src := filepath.Join(t.TempDir(), "src")
	clitest.BigRandomFiles(t, src, 10, 600<<10, 8)
	for i := 0; i < 3; i++ {
		r := liar.Run("backup", "--retry-budget", "3s", src)
		t.Logf("backup through a lying server: exit %d", r.Code)
		c.CheckConsistent(t)
	}
	if proxy.Fired(s3test.LiePut)+proxy.Fired(s3test.PrefixPut) == 0 {
		t.Fatal("no lie was told: the test proves nothing")
	}
}
