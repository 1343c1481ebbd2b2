package main

import (
	"bytes"
	"context"
	"encoding/json"
	"net/url"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"

	"github.com/cairn-backup/cairn/backup/verify"
	"github.com/cairn-backup/cairn/remote/s3/s3test"
)

// attacker holds the bucket's full S3 keys (not the password) and speaks S3 directly.
type attacker struct {
	c              *minio.Client
	bucket, prefix string
}

func newAttacker(t *testing.T, srv *s3test.Server, c *cli) attacker {
	t.Helper()
	u, err := url.Parse(strings.TrimPrefix(c.Direct, "s3:"))
	if err != nil {
		t.Fatal(err)
	}
	mc, err := minio.New(u.Host, &minio.Options{Creds: credentials.NewStaticV4(srv.AccessKey, srv.SecretKey, "")})
	if err != nil {
		t.Fatal(err)
	}
	bucket, prefix, _ := strings.Cut(strings.TrimPrefix(u.Path, "/"), "/")
	return attacker{c: mc, bucket: bucket, prefix: prefix + "/"}
}

// versions lists every version of every key of the repository.
func (a attacker) versions(t *testing.T) []minio.ObjectInfo {
	t.Helper()
	var out []minio.ObjectInfo
	opts := minio.ListObjectsOptions{Prefix: a.prefix, Recursive: true, WithVersions: true}
	for o := range a.c.ListObjects(context.Background(), a.bucket, opts) {
		if o.Err != nil {
			t.Fatal(o.Err)
		}
		out = append(out, o)
	}
	return out
}

// lockedKey: the keys of the object types a snapshot needs, which cairn locks.
func lockedKey(a attacker, key string) bool {
	rel := strings.TrimPrefix(key, a.prefix)
	for _, p := range []string{"keys/", "snapshots/", "index/", "data/"} {
		if strings.HasPrefix(rel, p) {
			return true
		}
	}
	return rel == "config"
}

// TestDeleteMarkersAttack: an attacker with the bucket's full keys cannot delete the
// locked version of any object a snapshot needs, and what he writes over them is a
// new version that leaves the locked one intact; his plain DELETEs on every object
// hide them behind delete markers. restore and verify read the locked versions (the
// forged bytes are never read) and report every hidden object; repair markers
// removes markers and forged versions, and the repository is plain again.
func TestDeleteMarkersAttack(t *testing.T) {
	srv := s3test.Need(t)
	c := newLockCLI(t, srv)
	c.OK("init", "--object-lock", "--lock-for", "1h")
	src := filepath.Join(t.TempDir(), "src")
	writeFiles(t, src, map[string]string{"a": strings.Repeat("alpha", 2000), "d/b": "beta"})
	c.OK("backup", src)

	a := newAttacker(t, srv, c)
	ctx := context.Background()
	locked := 0
	for _, o := range a.versions(t) {
		if !lockedKey(a, o.Key) {
			continue
		}
		locked++
		if err := a.c.RemoveObject(ctx, a.bucket, o.Key, minio.RemoveObjectOptions{VersionID: o.VersionID}); err == nil {
			t.Fatalf("the attacker deleted the locked version of %s", o.Key)
		}
		forged := []byte("forged bytes")
		if _, err := a.c.PutObject(ctx, a.bucket, o.Key, bytes.NewReader(forged), int64(len(forged)), minio.PutObjectOptions{}); err != nil {
			t.Fatalf("overwrite %s: %v", o.Key, err)
		}
	}
	for _, o := range a.versions(t) {
		if o.IsLatest && !o.IsDeleteMarker {
			if err := a.c.RemoveObject(ctx, a.bucket, o.Key, minio.RemoveObjectOptions{}); err != nil {
				t.Fatalf("plain delete of %s: %v", o.Key, err)
			}
		}
	}
	if r := c.Run("snapshots"); r.Code != 10 {
		t.Fatalf("snapshots (which does not see through markers): exit %d, want 10\n%s%s", r.Code, r.Stdout, r.Stderr)
	}

	target := filepath.Join(t.TempDir(), "target")
	r := c.Run("--no-cache", "restore", "latest", "--target", target)
	if r.Code != 0 || !strings.Contains(r.Stderr, "objects were behind delete markers or forged versions") {
		t.Fatalf("restore under markers: exit %d\n%s%s", r.Code, r.Stdout, r.Stderr)
	}
	sameState(t, treeState(t, src), treeState(t, filepath.Join(target, src)))

	r = c.Run("--no-cache", "verify", "--read-data")
	if r.Code != 0 || !strings.Contains(r.Stdout, "WARNING: ") {
		t.Fatalf("verify under markers: exit %d\n%s%s", r.Code, r.Stdout, r.Stderr)
	}
	var rep verify.Report
	out := c.OK("--no-cache", "verify", "--json")
	if err := json.Unmarshal([]byte(lastLine(out)), &rep); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	hidden := 0
	for _, w := range rep.Warnings {
		if w.Kind == verify.Hidden {
			hidden++
		}
	}
	if hidden != locked || len(rep.Problems) != 0 {
		t.Fatalf("verify --json: %d hidden objects reported, want %d; problems %+v", hidden, locked, rep.Problems)
	}

	out = c.OK("repair", "markers", "--dry-run")
	if !strings.Contains(out, "would make") {
		t.Fatalf("repair markers --dry-run:\n%s", out)
	}
	out = c.OK("repair", "markers")
	if !strings.Contains(out, "visible again") {
		t.Fatalf("repair markers:\n%s", out)
	}
	if out := c.OK("repair", "markers"); !strings.Contains(out, "no hidden objects") {
		t.Fatalf("repair markers after repair:\n%s", out)
	}
	if r := c.Run("--no-cache", "verify", "--read-data"); r.Code != 0 || strings.Contains(r.Stdout, "WARNING") {
		t.Fatalf("verify after repair: exit %d\n%s%s", r.Code, r.Stdout, r.Stderr)
	}
	c.CheckContent(t, src) // a plain store reads the locked versions again
}

// verifyJSON runs verify --json and decodes its report.
func verifyJSON(t *testing.T, c *cli) verify.Report {
	t.Helper()
	var rep verify.Report
	out := c.OK("--no-cache", "verify", "--json")
	if err := json.Unmarshal([]byte(lastLine(out)), &rep); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	return rep
}

// TestVerifyLockCoverage: verify reports, per snapshot, the earliest lock among the
// objects it needs; a pack whose lock was shortened (governance, bypassed with the
// bucket's keys) is named as locked too briefly.
func TestVerifyLockCoverage(t *testing.T) {
	srv := s3test.Need(t)
	c := newLockCLI(t, srv)
	c.OK("init", "--object-lock", "--lock-for", "1h")
	src := filepath.Join(t.TempDir(), "src")
	writeFiles(t, src, map[string]string{"a": "alpha"})
	start := time.Now()
	c.OK("backup", src)
	rep := verifyJSON(t, c)
	if len(rep.Locks) != 1 || rep.Locks[0].Until.Before(start.Add(time.Hour)) || rep.Locks[0].Short != 0 {
		t.Fatalf("lock coverage of a fresh backup: %+v", rep.Locks)
	}
	a := newAttacker(t, srv, c)
	var pack string
	for _, o := range a.versions(t) {
		if strings.Contains(o.Key, "/data/") {
			pack = o.Key
			mode := minio.Governance
			until := time.Now().Add(10 * time.Minute).UTC().Truncate(time.Second)
			err := a.c.PutObjectRetention(context.Background(), a.bucket, o.Key, minio.PutObjectRetentionOptions{
				GovernanceBypass: true, Mode: &mode, RetainUntilDate: &until, VersionID: o.VersionID})
			if err != nil {
				t.Fatalf("shorten the lock of %s: %v", o.Key, err)
			}
			break
		}
	}
	rep = verifyJSON(t, c)
	var short []verify.Problem
	for _, w := range rep.Warnings {
		if w.Kind == verify.LockShort {
			short = append(short, w)
		}
	}
	name := pack[strings.LastIndex(pack, "/")+1:]
	if len(short) != 1 || short[0].Object != "data/"+name || len(rep.Locks) != 1 || rep.Locks[0].Short != 1 {
		t.Fatalf("after shortening the lock of pack %s: warnings %+v, locks %+v", name, rep.Warnings, rep.Locks)
	}
	if r := c.Run("--no-cache", "verify"); r.Code != 0 || !strings.Contains(r.Stdout, "WARNING: object locks end too early for 1 snapshot") {
		t.Fatalf("verify after shortening a lock: exit %d\n%s%s", r.Code, r.Stdout, r.Stderr)
	}
}

// TestKeyPasswdLocked: on a bucket with Object Lock, key passwd leaves the old key
// file (locked) in place and says so, instead of hiding it behind a delete marker
// that verify would report as an attack.
func TestKeyPasswdLocked(t *testing.T) {
	srv := s3test.Need(t)
	c := newLockCLI(t, srv)
	c.OK("init", "--object-lock", "--lock-for", "1h")
	c.Env = append(c.Env, "CAIRN_NEW_PASSWORD=second")
	out := c.OK("key", "passwd")
	if !strings.Contains(out, "is locked until") {
		t.Fatalf("key passwd on a locked repository:\n%s", out)
	}
	c.Env = append(c.Env, "CAIRN_PASSWORD=second")
	if r := c.Run("--no-cache", "verify"); r.Code != 0 || strings.Contains(r.Stdout, "WARNING") {
		t.Fatalf("verify after key passwd: exit %d\n%s%s", r.Code, r.Stdout, r.Stderr)
	}
}

// TestLockExtendedElsewhere: a backup extends a lock with one request, and when the
// storage refuses because another host extended it further, it reads the lock and
// goes on.
func TestLockExtendedElsewhere(t *testing.T) {
	srv := s3test.Need(t)
	c := newLockCLI(t, srv)
	c.OK("init", "--object-lock", "--lock-for", "20s") // period: 2s
	src := filepath.Join(t.TempDir(), "src")
	writeFiles(t, src, map[string]string{"a": "alpha"})
	c.OK("backup", src)
	a := newAttacker(t, srv, c)
	for _, o := range a.versions(t) {
		if strings.Contains(o.Key, "/data/") {
			mode := minio.Governance
			until := time.Now().Add(time.Hour).UTC().Truncate(time.Second)
			err := a.c.PutObjectRetention(context.Background(), a.bucket, o.Key, minio.PutObjectRetentionOptions{
				Mode: &mode, RetainUntilDate: &until, VersionID: o.VersionID})
			if err != nil {
				t.Fatal(err)
			}
		}
	}
	time.Sleep(3 * time.Second) // past the period: every lock is due
	var sum backupSummary
	out := c.OK("backup", "--json", src)
	if err := json.Unmarshal([]byte(lastLine(out)), &sum); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	if sum.LocksRead == 0 || sum.LocksExtended == 0 || sum.LocksRead+sum.LocksExtended != sum.LocksNeeded {
		t.Fatalf("backup after another host extended the packs' locks: %d needed, %d read, %d extended",
			sum.LocksNeeded, sum.LocksRead, sum.LocksExtended)
	}
}
