package main

import (
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
