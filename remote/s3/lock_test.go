package s3_test

import (
	"errors"
	"testing"
	"time"

	"github.com/minio/minio-go/v7"

	"github.com/cairn-backup/cairn/remote"
	"github.com/cairn-backup/cairn/remote/s3"
	"github.com/cairn-backup/cairn/remote/s3/s3test"
)

// TestObjectLock: a bucket made with Object Lock locks the writes LockWrites names,
// reports their retention, extends it, and refuses to delete the locked version.
func TestObjectLock(t *testing.T) {
	srv := s3test.Need(t)
	opts := options(srv)
	opts.ObjectLock = true
	st := create(t, srv, opts)
	ctx := t.Context()
	if err := st.CheckLock(ctx); err != nil {
		t.Fatalf("check lock: %v", err)
	}
	before := time.Now()
	st.LockWrites(remote.Governance, time.Hour, remote.Data)
	locked := remote.Handle{Type: remote.Data, Name: "aa0123"}
	free := remote.Handle{Type: remote.Mark, Name: "m1"}
	for _, h := range []remote.Handle{locked, free} {
		if err := st.Put(ctx, h, remote.Bytes([]byte("pack"))); err != nil {
			t.Fatal(err)
		}
	}
	r, err := st.Retention(ctx, locked)
	if err != nil || r.Mode != remote.Governance || r.Until.Before(before.Add(time.Hour)) || r.Until.After(time.Now().Add(time.Hour+2*time.Second)) {
		t.Fatalf("retention of a locked write: %+v, %v; want governance an hour past the write", r, err)
	}
	until := r.Until
	if r, err := st.Retention(ctx, free); err != nil || !r.Until.IsZero() {
		t.Fatalf("retention of an unlocked write: %+v, %v; want none", r, err)
	}
	later := until.Add(time.Hour)
	if err := st.Retain(ctx, locked, remote.Retention{Mode: remote.Governance, Until: later}); err != nil {
		t.Fatalf("extend: %v", err)
	}
	if r, err := st.Retention(ctx, locked); err != nil || !r.Until.Equal(later) {
		t.Fatalf("after extension: %+v, %v; want until %s", r, err, later)
	}
	if err := st.Retain(ctx, locked, remote.Retention{Mode: remote.Governance, Until: until}); !errors.Is(err, remote.ErrLocked) {
		var resp minio.ErrorResponse
		errors.As(err, &resp)
		t.Errorf("shortening a lock without bypassing governance: %v (%q %d), want ErrLocked", err, resp.Code, resp.StatusCode)
	}
}

// TestObjectLockRefused: init --object-lock on a bucket made without it is refused
// with remote.ErrNoLock, and so is CheckLock.
func TestObjectLockRefused(t *testing.T) {
	srv := s3test.Need(t)
	loc := location(srv)
	st, err := s3.Create(t.Context(), loc, options(srv))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if err := st.CheckLock(t.Context()); !errors.Is(err, remote.ErrNoLock) {
		t.Fatalf("check lock on a bucket without it: %v, want ErrNoLock", err)
	}
	opts := options(srv)
	opts.ObjectLock = true
	if _, err := s3.Create(t.Context(), loc, opts); !errors.Is(err, remote.ErrNoLock) {
		t.Fatalf("create with object lock in a bucket without it: %v, want ErrNoLock", err)
	}
}
