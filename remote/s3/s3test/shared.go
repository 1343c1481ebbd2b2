package s3test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// shared is the plain server of a test binary, set up by Main.
var shared struct {
	srv  *Server
	skip string // why there is none
	dir  string // where Start may put more servers
}

// Main runs the tests of a package with a plain MinIO: the one the CAIRN_TEST_S3_*
// variables name (see scripts/minio), or one started for the run and stopped at its
// end. Without a minio binary, tests calling Need skip with a clear message, unless
// CI=true: then a missing MinIO fails the run. Use it as os.Exit(s3test.Main(m)).
func Main(m *testing.M) int {
	dir, err := os.MkdirTemp("", "cairn-s3test-")
	if err != nil {
		fmt.Fprintln(os.Stderr, "s3test:", err)
		return 1
	}
	defer os.RemoveAll(dir)
	shared.dir = dir
	if ep := os.Getenv("CAIRN_TEST_S3_ENDPOINT"); ep != "" {
		shared.srv = &Server{Mode: Plain, Endpoint: ep,
			AccessKey: os.Getenv("CAIRN_TEST_S3_ACCESS_KEY"), SecretKey: os.Getenv("CAIRN_TEST_S3_SECRET_KEY")}
		return m.Run()
	}
	srv, err := Start(context.Background(), Plain, dir)
	switch {
	case errors.Is(err, ErrNoMinIO) && os.Getenv("CI") == "true":
		fmt.Fprintln(os.Stderr, "s3test: CI=true and", err)
		return 1
	case errors.Is(err, ErrNoMinIO):
		shared.skip = "S3 tests skipped: " + err.Error() + " or set CAIRN_TEST_S3_ENDPOINT"
		return m.Run()
	case err != nil:
		fmt.Fprintln(os.Stderr, "s3test:", err)
		return 1
	}
	shared.srv = srv
	code := m.Run()
	if err := srv.Stop(); err != nil {
		fmt.Fprintln(os.Stderr, "s3test: stop minio:", err)
	}
	return code
}

// Need returns the shared plain server, or skips t when there is none.
func Need(t testing.TB) *Server {
	t.Helper()
	if shared.srv == nil {
		if shared.skip == "" {
			t.Fatal("s3test.Need without s3test.Main in TestMain")
		}
		t.Skip(shared.skip)
	}
	return shared.srv
}

// NeedMode starts a server of mode for t (stopped at t's end), or skips t as Need
// does. An mtls server fronts the shared plain one; a tls server is a MinIO of its own.
func NeedMode(t testing.TB, mode Mode) *Server {
	t.Helper()
	plain := Need(t)
	switch mode {
	case Plain:
		return plain
	case MTLS:
		return frontFor(t, plain)
	}
	srv, err := Start(t.Context(), mode, shared.dir)
	if err != nil {
		t.Fatalf("start minio %s: %v", mode, err)
	}
	t.Cleanup(func() {
		if err := srv.Stop(); err != nil {
			t.Errorf("stop minio: %v", err)
		}
	})
	return srv
}

// frontFor puts a TLS front that requires client certificates before plain.
func frontFor(t testing.TB, plain *Server) *Server {
	t.Helper()
	dir := t.TempDir()
	ca, err := NewCA(filepath.Join(dir, "ca.crt"), "cairn test CA")
	if err != nil {
		t.Fatal(err)
	}
	client := filepath.Join(dir, "client.pem")
	if err := ca.ClientCert(client, "cairn test client", time.Now().Add(-time.Hour), time.Now().Add(24*time.Hour)); err != nil {
		t.Fatal(err)
	}
	f, err := StartFront(t.Context(), plain.Endpoint, dir, ca, true)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := f.Close(); err != nil {
			t.Errorf("stop tls front: %v", err)
		}
	})
	return &Server{Mode: MTLS, Endpoint: f.URL, AccessKey: plain.AccessKey, SecretKey: plain.SecretKey,
		CACert: ca.CertFile, ClientCert: client, CA: ca}
}
