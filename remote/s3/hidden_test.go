package s3_test

import (
	"bytes"
	"context"
	"io"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"

	"github.com/cairn-backup/cairn/remote"
	"github.com/cairn-backup/cairn/remote/s3"
	"github.com/cairn-backup/cairn/remote/s3/s3test"
)

// attacker holds the bucket's full keys and speaks S3 directly.
type attacker struct {
	c      *minio.Client
	bucket string
}

func newAttacker(t *testing.T, srv *s3test.Server, loc string) attacker {
	t.Helper()
	u, err := url.Parse(strings.TrimPrefix(loc, "s3:"))
	if err != nil {
		t.Fatal(err)
	}
	c, err := minio.New(u.Host, &minio.Options{Creds: credentials.NewStaticV4(srv.AccessKey, srv.SecretKey, "")})
	if err != nil {
		t.Fatal(err)
	}
	return attacker{c: c, bucket: strings.SplitN(strings.TrimPrefix(u.Path, "/"), "/", 2)[0]}
}

// versions lists every version of every key under the bucket.
func (a attacker) versions(t *testing.T) []minio.ObjectInfo {
	t.Helper()
	var out []minio.ObjectInfo
	for o := range a.c.ListObjects(context.Background(), a.bucket, minio.ListObjectsOptions{Recursive: true, WithVersions: true}) {
		if o.Err != nil {
			t.Fatal(o.Err)
		}
		out = append(out, o)
	}
	return out
}

// TestSeeThrough: an attacker with the bucket's keys cannot delete a locked version
// (with its version id) nor replace it (an overwrite is a new version, and the locked
// one stays). Plain deletes and overwrites hide it from a plain store; a store that
// sees through reads the locked bytes, reports every hidden object, and Unhide makes
// it plain again.
func TestSeeThrough(t *testing.T) {
	srv := s3test.Need(t)
	ctx := t.Context()
	opts := options(srv)
	opts.ObjectLock = true
	loc := location(srv)
	st, err := s3.Create(ctx, loc, opts)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	st.LockWrites(remote.Governance, time.Hour, remote.Config, remote.Data, remote.Snapshot)
	objs := map[remote.Handle]string{
		{Type: remote.Config}:                   "config",
		{Type: remote.Data, Name: "aa0123"}:     "pack",
		{Type: remote.Snapshot, Name: "s1"}:     "snapshot",
		{Type: remote.Data, Name: "bb0123"}:     "other pack",
		{Type: remote.Mark, Name: "unlocked-m"}: "mark",
	}
	for h, body := range objs {
		if err := st.Put(ctx, h, remote.Bytes([]byte(body))); err != nil {
			t.Fatal(err)
		}
	}
	a := newAttacker(t, srv, loc)
	for _, o := range a.versions(t) {
		err := a.c.RemoveObject(ctx, a.bucket, o.Key, minio.RemoveObjectOptions{VersionID: o.VersionID})
		if strings.HasSuffix(o.Key, "unlocked-m") {
			if err != nil {
				t.Fatalf("delete of an unlocked version: %v", err)
			}
			continue
		}
		if err == nil {
			t.Fatalf("deleted the locked version of %s", o.Key)
		}
		if strings.HasSuffix(o.Key, "bb0123") {
			_, err := a.c.PutObject(ctx, a.bucket, o.Key, bytes.NewReader([]byte("forged")), 6, minio.PutObjectOptions{})
			if err != nil {
				t.Fatalf("overwrite: %v", err)
			}
			continue
		}
		if err := a.c.RemoveObject(ctx, a.bucket, o.Key, minio.RemoveObjectOptions{}); err != nil {
			t.Fatalf("plain delete of %s: %v", o.Key, err)
		}
	}
	if _, err := st.Stat(ctx, remote.Handle{Type: remote.Data, Name: "aa0123"}); err == nil {
		t.Fatal("a plain store sees an object behind a delete marker")
	}

	opts.SeeThrough, opts.ObjectLock = true, false
	see, err := s3.Open(ctx, loc, opts)
	if err != nil {
		t.Fatalf("open through the config's delete marker: %v", err)
	}
	defer see.Close()
	delete(objs, remote.Handle{Type: remote.Mark, Name: "unlocked-m"})
	checkObjects(t, see, objs)
	hidden := see.Hidden()
	if len(hidden) != len(objs) {
		t.Fatalf("%d hidden objects reported, want %d: %+v", len(hidden), len(objs), hidden)
	}
	for _, h := range hidden {
		forged := h.Name == "bb0123"
		if forged != (len(h.Forged) == 1 && len(h.Markers) == 0) || !forged && len(h.Markers) != 1 {
			t.Errorf("%s: markers %v, forged %v", h.Handle, h.Markers, h.Forged)
		}
		if err := see.Unhide(ctx, h); err != nil {
			t.Fatalf("unhide %s: %v", h.Handle, err)
		}
	}
	opts.SeeThrough = false
	plain, err := s3.Open(ctx, loc, opts)
	if err != nil {
		t.Fatalf("open after unhiding: %v", err)
	}
	defer plain.Close()
	checkObjects(t, plain, objs)
}

// checkObjects reads every object of want (listed, then read) and compares the bytes.
func checkObjects(t *testing.T, st remote.Storage, want map[remote.Handle]string) {
	t.Helper()
	ctx := t.Context()
	listed := 0
	for _, typ := range []remote.Type{remote.Config, remote.Data, remote.Snapshot} {
		if err := st.List(ctx, typ, func(remote.Info) error { listed++; return nil }); err != nil {
			t.Fatal(err)
		}
	}
	if listed != len(want) {
		t.Errorf("listed %d objects, want %d", listed, len(want))
	}
	for h, body := range want {
		rd, err := st.Get(ctx, h, 0, 0)
		if err != nil {
			t.Fatalf("get %s: %v", h, err)
		}
		got, err := io.ReadAll(rd)
		rd.Close()
		if err != nil || string(got) != body {
			t.Errorf("%s: read %q, %v; want %q", h, got, err, body)
		}
	}
}
