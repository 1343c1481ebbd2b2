package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/cairn-backup/cairn/remote/s3/s3test"
)

func TestS3CommandsLikeLocal(t *testing.T) {
	srv := s3test.Need(t)
	c := newS3CLI(t, srv, srv.Endpoint)
	c.OK("init")
	src := filepath.Join(t.TempDir(), "src")
	writeFiles(t, src, map[string]string{"a": "alpha", "d/b": "beta"})
	c.OK("backup", src)
	writeFiles(t, src, map[string]string{"d/b": "beta 2", "c": "new"})
	out := c.OK("backup", src)
	if !strings.Contains(out, "1 new, 1 changed, 1 unchanged") {
		t.Fatalf("second backup on S3:\n%s", out)
	}
	if out := c.OK("snapshots"); !strings.Contains(out, "2 snapshots") {
		t.Fatalf("snapshots:\n%s", out)
	}
	if out := c.OK("ls", "latest"); !strings.Contains(out, src+"/d/b\n") {
		t.Fatalf("ls:\n%s", out)
	}
	if out := c.OK("diff", strings.Fields(strings.Split(c.OK("snapshots"), "\n")[1])[0], "latest"); !strings.Contains(out, "+  "+src+"/c") {
		t.Fatalf("diff:\n%s", out)
	}
	c.OK("stats")
	c.OK("key", "list")
	checkConsistent(t, c)
	c.CheckContent(t, src)
}

// TestS3InsecureTLSWarns: --insecure-tls reaches a server whose certificate is not
// trusted, and says on stderr what that costs.
func TestS3InsecureTLSWarns(t *testing.T) {
	srv := s3test.NeedMode(t, s3test.TLS)
	c := newS3CLI(t, srv, srv.Endpoint)
	if r := c.Run("init"); r.Code == 0 || !strings.Contains(r.Stderr, "not trusted") {
		t.Fatalf("init without trust: exit %d, %s", r.Code, r.Stderr)
	}
	r := c.Run("init", "--insecure-tls")
	if r.Code != 0 || !strings.Contains(r.Stderr, "warning: --insecure-tls: the server's certificate is not verified") {
		t.Fatalf("init --insecure-tls: exit %d, stderr %q", r.Code, r.Stderr)
	}
	c.Env = append(c.Env, "CAIRN_INSECURE_TLS=true", "CAIRN_S3_STORAGE_CLASS=REDUCED_REDUNDANCY")
	src := t.TempDir()
	writeFiles(t, src, map[string]string{"a": "alpha"})
	c.OK("backup", "-q", src)
	target := t.TempDir()
	c.OK("restore", "latest", "--target", target)
	if got, err := os.ReadFile(filepath.Join(target, src, "a")); err != nil || string(got) != "alpha" {
		t.Fatalf("restored %q, %v", got, err)
	}
}
