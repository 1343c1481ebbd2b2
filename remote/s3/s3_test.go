package s3_test

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/cairn-backup/cairn/remote"
	"github.com/cairn-backup/cairn/remote/remotetest"
	"github.com/cairn-backup/cairn/remote/retry"
	"github.com/cairn-backup/cairn/remote/s3"
	"github.com/cairn-backup/cairn/remote/s3/s3test"
)

func TestMain(m *testing.M) { os.Exit(s3test.Main(m)) }

// location returns a fresh bucket (and a prefix) on srv's endpoint.
func location(srv *s3test.Server) string {
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	return "s3:" + srv.Endpoint + "/cairn-" + hex.EncodeToString(b) + "/some/prefix"
}

func options(srv *s3test.Server) s3.Options {
	return s3.Options{AccessKeyID: srv.AccessKey, SecretAccessKey: srv.SecretKey}
}

// create makes a store in a fresh bucket, closed at the end of t.
func create(t *testing.T, srv *s3test.Server, opts s3.Options) *s3.Store {
	t.Helper()
	st, err := s3.Create(t.Context(), location(srv), opts)
	if err != nil {
		t.Fatalf("create: %v", err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

func TestSuite(t *testing.T) {
	srv := s3test.Need(t)
	remotetest.Run(t, func(t *testing.T) remote.Storage {
		st, err := s3.Create(t.Context(), location(srv), options(srv))
		if err != nil {
			t.Fatalf("create: %v", err)
		}
		return st
	})
}

// TestSuiteWithRetry runs the suite through the decorator, as cairn uses S3.
func TestSuiteWithRetry(t *testing.T) {
	srv := s3test.Need(t)
	remotetest.Run(t, func(t *testing.T) remote.Storage {
		st, err := s3.Create(t.Context(), location(srv), options(srv))
		if err != nil {
			t.Fatalf("create: %v", err)
		}
		return retry.New(st, retry.Options{Budget: time.Minute})
	})
}

func TestCreateAndOpen(t *testing.T) {
	srv := s3test.Need(t)
	loc := location(srv)
	if _, err := s3.Open(t.Context(), loc, options(srv)); !errors.Is(err, remote.ErrNotFound) || !errors.Is(err, remote.ErrNoBucket) {
		t.Errorf("open without bucket: got %v, want ErrNotFound and ErrNoBucket", err)
	}
	st, err := s3.Create(t.Context(), loc, options(srv))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if st.Location() != loc {
		t.Errorf("location: got %q, want %q", st.Location(), loc)
	}
	if _, err := s3.Open(t.Context(), loc, options(srv)); !errors.Is(err, remote.ErrNotFound) {
		t.Errorf("open without config: got %v, want ErrNotFound", err)
	}
	if _, err := s3.Create(t.Context(), loc, options(srv)); err != nil {
		t.Errorf("create again without config: %v", err)
	}
	if err := st.Put(t.Context(), remote.Handle{Type: remote.Config}, remote.Bytes([]byte("cfg"))); err != nil {
		t.Fatal(err)
	}
	if _, err := s3.Create(t.Context(), loc, options(srv)); !errors.Is(err, remote.ErrExists) {
		t.Errorf("create over a repository: got %v, want ErrExists", err)
	}
	opened, err := s3.Open(t.Context(), loc, options(srv))
	if err != nil {
		t.Fatalf("open: %v", err)
	}
	opened.Close()
}

func TestWrongCredentials(t *testing.T) {
	srv := s3test.Need(t)
	st := create(t, srv, options(srv))
	bad := options(srv)
	bad.SecretAccessKey = "not-the-secret"
	_, err := s3.Open(t.Context(), st.Location(), bad)
	if !errors.Is(err, remote.ErrPermission) {
		t.Errorf("open with a wrong secret: got %v, want ErrPermission", err)
	}
	if err != nil && strings.Contains(err.Error(), bad.SecretAccessKey) {
		t.Errorf("the error shows the secret: %v", err)
	}
}
