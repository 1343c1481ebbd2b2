package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/cairn-backup/cairn/internal/repo"
	"github.com/cairn-backup/cairn/manifest"
	"github.com/cairn-backup/cairn/remote/s3/s3test"
)

// newS3CLI is a user whose repository is a fresh prefix in a bucket of the test MinIO,
// reached through endpoint (MinIO itself, or a fault proxy in front of it).
func newS3CLI(t *testing.T, srv *s3test.Server, endpoint string) *cli {
	c := newCLI(t)
	path := fmt.Sprintf("cairn-cli/%s-%d", strings.ToLower(t.Name()), rand.Uint32())
	c.repo = "s3:" + endpoint + "/" + path
	c.direct = "s3:" + srv.Endpoint + "/" + path
	c.env = append(c.env, "CAIRN_REPO="+c.repo, "AWS_ACCESS_KEY_ID="+srv.AccessKey, "AWS_SECRET_ACCESS_KEY="+srv.SecretKey)
	return c
}

func TestS3CommandsLikeLocal(t *testing.T) {
	srv := s3test.Need(t)
	c := newS3CLI(t, srv, srv.Endpoint)
	c.ok("init")
	src := filepath.Join(t.TempDir(), "src")
	writeFiles(t, src, map[string]string{"a": "alpha", "d/b": "beta"})
	c.ok("backup", src)
	writeFiles(t, src, map[string]string{"d/b": "beta 2", "c": "new"})
	out := c.ok("backup", src)
	if !strings.Contains(out, "1 new, 1 changed, 1 unchanged") {
		t.Fatalf("second backup on S3:\n%s", out)
	}
	if out := c.ok("snapshots"); !strings.Contains(out, "2 snapshots") {
		t.Fatalf("snapshots:\n%s", out)
	}
	if out := c.ok("ls", "latest"); !strings.Contains(out, src+"/d/b\n") {
		t.Fatalf("ls:\n%s", out)
	}
	if out := c.ok("diff", strings.Fields(strings.Split(c.ok("snapshots"), "\n")[1])[0], "latest"); !strings.Contains(out, "+  "+src+"/c") {
		t.Fatalf("diff:\n%s", out)
	}
	c.ok("stats")
	c.ok("key", "list")
	checkConsistent(t, c)
	checkContent(t, c, src)
}

// checkContent compares every file of the latest snapshot with the source tree.
func checkContent(t *testing.T, c *cli, src string) {
	t.Helper()
	ctx := context.Background()
	r := openForTest(t, c)
	defer r.Close()
	snaps, _, err := r.LoadSnapshots(ctx)
	if err != nil || len(snaps) == 0 {
		t.Fatalf("snapshots: %v", err)
	}
	s := snaps[len(snaps)-1]
	files := 0
	err = manifest.Walk(ctx, r, s.Tree, s.Root, func(p string, e *manifest.Entry) error {
		if e.Type != manifest.File || !strings.HasPrefix("/"+p, src+"/") {
			return nil
		}
		chunks, err := manifest.ReadChunks(ctx, r, e)
		if err != nil {
			return err
		}
		var got bytes.Buffer
		for _, ch := range chunks {
			data, err := r.LoadBlob(ctx, repo.DataBlob, ch.ID)
			if err != nil {
				return err
			}
			got.Write(data)
		}
		want, err := os.ReadFile("/" + p)
		if err != nil || !bytes.Equal(got.Bytes(), want) {
			t.Errorf("%s differs from the source (%v)", p, err)
		}
		files++
		return nil
	})
	if err != nil || files == 0 {
		t.Fatalf("walk: %v, %d files", err, files)
	}
}

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
	c := newS3CLI(t, srv, proxy.URL)
	c.ok("init", "--pack-size", "1")
	src := filepath.Join(t.TempDir(), "src")
	bigRandomFiles(t, src, 12, 700<<10, 3)
	writeFiles(t, src, map[string]string{"small/a": "a", "small/b": "b"})
	c.ok("backup", src)
	c.ok("snapshots")
	if n := proxy.Counts().Faults; n < 5 {
		t.Fatalf("only %d faults fired: the test proves nothing", n)
	}
	checkConsistent(t, c)
	checkContent(t, c, src)
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
	c := newS3CLI(t, srv, proxy.URL)
	c.ok("init")
	src := filepath.Join(t.TempDir(), "src")
	bigRandomFiles(t, src, 4, 300<<10, 5)
	down, err := s3test.StartFaultProxy(t.Context(), s3test.Config{
		Upstream: srv.Endpoint, Seed: 2, Rate: 1, MaxFaults: 100000, Kinds: []s3test.Kind{s3test.ServerError},
	})
	if err != nil {
		t.Fatal(err)
	}
	defer down.Close()
	outage := &cli{t: t, repo: strings.Replace(c.repo, proxy.URL, down.URL, 1), direct: c.direct, env: c.env}
	outage.env = append(append([]string{}, c.env...), "CAIRN_REPO="+outage.repo)
	r := outage.run("backup", "--retry-budget", "2s", src)
	t.Logf("with the storage down: %s", strings.TrimSpace(r.stderr))
	if r.code != exitFatal || !strings.Contains(r.stderr, "gave up") {
		t.Fatalf("backup with the storage down: exit %d, want %d\n%s", r.code, exitFatal, r.stderr)
	}
	if out := c.ok("snapshots"); !strings.Contains(out, "0 snapshots") {
		t.Fatalf("a failed backup left a snapshot:\n%s", out)
	}
	var sum backupSummary
	if err := json.Unmarshal([]byte(c.ok("backup", "--json", "-q", src)), &sum); err != nil || sum.Snapshot == "" {
		t.Fatalf("backup after the outage: %v", err)
	}
	checkConsistent(t, c)
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
	c := newS3CLI(t, srv, srv.Endpoint)
	c.ok("init", "--pack-size", "1")
	liar := &cli{t: t, repo: strings.Replace(c.repo, srv.Endpoint, proxy.URL, 1), direct: c.direct}
	liar.env = append(append([]string{}, c.env...), "CAIRN_REPO="+liar.repo)
	src := filepath.Join(t.TempDir(), "src")
	bigRandomFiles(t, src, 10, 600<<10, 8)
	for i := 0; i < 3; i++ {
		r := liar.run("backup", "--retry-budget", "3s", src)
		t.Logf("backup through a lying server: exit %d", r.code)
		checkConsistent(t, c)
	}
	if proxy.Fired(s3test.LiePut)+proxy.Fired(s3test.PrefixPut) == 0 {
		t.Fatal("no lie was told: the test proves nothing")
	}
}

// TestS3InsecureTLSWarns: --insecure-tls reaches a server whose certificate is not
// trusted, and says on stderr what that costs.
func TestS3InsecureTLSWarns(t *testing.T) {
	srv := s3test.NeedMode(t, s3test.TLS)
	c := newS3CLI(t, srv, srv.Endpoint)
	if r := c.run("init"); r.code == 0 || !strings.Contains(r.stderr, "not trusted") {
		t.Fatalf("init without trust: exit %d, %s", r.code, r.stderr)
	}
	r := c.run("init", "--insecure-tls")
	if r.code != 0 || !strings.Contains(r.stderr, "warning: --insecure-tls: the server's certificate is not verified") {
		t.Fatalf("init --insecure-tls: exit %d, stderr %q", r.code, r.stderr)
	}
	c.env = append(c.env, "CAIRN_INSECURE_TLS=true", "CAIRN_S3_STORAGE_CLASS=REDUCED_REDUNDANCY")
	src := t.TempDir()
	writeFiles(t, src, map[string]string{"a": "alpha"})
	c.ok("backup", "-q", src)
	target := t.TempDir()
	c.ok("restore", "latest", "--target", target)
	if got, err := os.ReadFile(filepath.Join(target, src, "a")); err != nil || string(got) != "alpha" {
		t.Fatalf("restored %q, %v", got, err)
	}
}
