package main

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net/url"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/minio/madmin-go/v3"

	"github.com/cairn-backup/cairn/remote"
	"github.com/cairn-backup/cairn/remote/s3/s3test"
)

// backupPolicy is docs/s3.md's policy for a host that only backs up (with Object
// Lock): it may write and read, list, and read and extend locks; never delete.
const backupPolicy = `{
  "Version": "2012-10-17",
  "Statement": [
    {"Effect": "Allow",
     "Action": ["s3:GetBucketLocation", "s3:ListBucket"],
     "Resource": ["arn:aws:s3:::BUCKET"]},
    {"Effect": "Allow",
     "Action": ["s3:GetObject", "s3:PutObject", "s3:GetObjectRetention", "s3:PutObjectRetention"],
     "Resource": ["arn:aws:s3:::BUCKET/*"]}
  ]
}`

// putOnlyCLI is a second host on c's repository, with a MinIO user of its own whose
// policy is backupPolicy.
func putOnlyCLI(t *testing.T, srv *s3test.Server, c *cli) *cli {
	t.Helper()
	u, err := url.Parse(strings.TrimPrefix(c.Direct, "s3:"))
	if err != nil {
		t.Fatal(err)
	}
	bucket, _, _ := strings.Cut(strings.TrimPrefix(u.Path, "/"), "/")
	adm, err := madmin.New(u.Host, srv.AccessKey, srv.SecretKey, false)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	name := fmt.Sprintf("backup-only-%d", rand.Uint32())
	policy := strings.ReplaceAll(backupPolicy, "BUCKET", bucket)
	if err := adm.AddCannedPolicy(ctx, name, []byte(policy)); err != nil {
		t.Fatalf("add policy: %v", err)
	}
	secret := fmt.Sprintf("secret-%d-%d", rand.Uint64(), rand.Uint64())
	if err := adm.AddUser(ctx, name, secret); err != nil {
		t.Fatalf("add user: %v", err)
	}
	if err := adm.SetPolicy(ctx, name, name, false); err != nil {
		t.Fatalf("set policy: %v", err)
	}
	p := newCLI(t)
	p.Repo, p.Direct = c.Repo, c.Direct
	p.Env = append(p.Env, "CAIRN_REPO="+c.Repo, "AWS_ACCESS_KEY_ID="+name, "AWS_SECRET_ACCESS_KEY="+secret)
	return p
}

// TestPutOnlyBackup: a host whose keys may not delete backs up to completion (twice:
// the second reuses packs and reads their locks); its forget of a locked snapshot
// deletes nothing and says so; once the locks have ended its forget and prune are
// refused clearly, with nothing lost; the host with full keys finds the repository whole.
func TestPutOnlyBackup(t *testing.T) {
	srv := s3test.Need(t)
	c := newLockCLI(t, srv)
	c.OK("init", "--object-lock", "--lock-for", "3s")
	p := putOnlyCLI(t, srv, c)
	src := filepath.Join(t.TempDir(), "src")
	writeFiles(t, src, map[string]string{"a": strings.Repeat("alpha", 1000), "d/b": "beta"})
	p.OK("backup", src)
	writeFiles(t, src, map[string]string{"a": strings.Repeat("omega", 1000)})
	p.OK("backup", src)
	if n := countObjects(t, c, remote.Snapshot); n != 2 {
		t.Fatalf("%d snapshots after two put-only backups, want 2", n)
	}
	out := p.OK("forget", "--keep-last", "1")
	if !strings.Contains(out, "removed 0 snapshots (their data stays until a prune); 1 kept by object locks") {
		t.Fatalf("put-only forget of a locked snapshot:\n%s", out)
	}
	time.Sleep(5 * time.Second) // past lock-for and its period
	r := p.Run("forget", "--keep-last", "1")
	if r.Code != 1 || !strings.Contains(r.Stderr, "permission denied") {
		t.Fatalf("put-only forget: exit %d, want 1 and permission denied\n%s%s", r.Code, r.Stdout, r.Stderr)
	}
	if n := countObjects(t, c, remote.Snapshot); n != 2 {
		t.Fatalf("%d snapshots after a refused forget, want 2", n)
	}
	c.OK("forget", "--keep-last", "1") // the full host: the first snapshot's packs are unneeded now
	packs := countObjects(t, c, remote.Data)
	r = p.Run("prune")
	if r.Code != 1 || !strings.Contains(r.Stderr, "permission denied") {
		t.Fatalf("put-only prune: exit %d, want 1 and permission denied\n%s%s", r.Code, r.Stdout, r.Stderr)
	}
	if n := countObjects(t, c, remote.Data); n != packs {
		t.Fatalf("%d packs after a refused prune, had %d", n, packs)
	}
	if r := c.Run("--no-cache", "verify", "--read-data"); r.Code != 0 || strings.Contains(r.Stdout, "WARNING") {
		t.Fatalf("verify by the full host: exit %d\n%s%s", r.Code, r.Stdout, r.Stderr)
	}
	c.CheckContent(t, src)
	c.OK("prune")
	if n := countObjects(t, c, remote.Data); n >= packs {
		t.Fatalf("the full host's prune left %d of %d packs", n, packs)
	}
	c.CheckContent(t, src)
}

// TestPutOnlyRunNoteEnds: a backup whose keys may not delete its run note writes an
// end note instead, so a prune right after it still deletes at once.
func TestPutOnlyRunNoteEnds(t *testing.T) {
	srv := s3test.Need(t)
	c := newLockCLI(t, srv)
	c.OK("init")
	p := putOnlyCLI(t, srv, c)
	src := filepath.Join(t.TempDir(), "src")
	writeFiles(t, src, map[string]string{"a": strings.Repeat("alpha", 1000)})
	p.OK("backup", src)
	writeFiles(t, src, map[string]string{"a": strings.Repeat("omega", 1000)})
	p.OK("backup", src)
	if n := countObjects(t, c, remote.Lock); n != 4 {
		t.Fatalf("%d objects in locks/ after two put-only backups, want 4 (two notes, two end notes)", n)
	}
	out := c.OK("forget", "--keep-last", "1", "--prune")
	if !strings.Contains(out, "unneeded packs went at once") {
		t.Fatalf("forget --prune after put-only backups:\n%s", out)
	}
	c.CheckContent(t, src)
}
