package s3_test

import (
	"bytes"
	"errors"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/cairn-backup/cairn/remote"
	"github.com/cairn-backup/cairn/remote/s3"
	"github.com/cairn-backup/cairn/remote/s3/s3test"
)

// roundTrip puts and reads back one object.
func roundTrip(t *testing.T, st remote.Storage) {
	t.Helper()
	h := remote.Handle{Type: remote.Key, Name: "k1"}
	data := []byte("a key file")
	if err := st.Put(t.Context(), h, remote.Bytes(data)); err != nil {
		t.Fatalf("put: %v", err)
	}
	got, err := remote.ReadAll(t.Context(), st, h, 0, 0, 1<<20)
	if err != nil || !bytes.Equal(got, data) {
		t.Fatalf("read back: %q, %v", got, err)
	}
}

// wantTLSError checks that creating a store fails fast with a TLS message.
func wantTLSError(t *testing.T, srv *s3test.Server, opts s3.Options, message string) {
	t.Helper()
	start := time.Now()
	_, err := s3.Create(t.Context(), location(srv), opts)
	if !errors.Is(err, remote.ErrTLS) || !strings.Contains(err.Error(), message) {
		t.Fatalf("create: got %v, want ErrTLS saying %q", err, message)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("took %v to fail: a TLS failure is not worth long retries", d)
	}
	t.Logf("error: %v", err)
}

func TestTLS(t *testing.T) {
	srv := s3test.NeedMode(t, s3test.TLS)
	t.Run("Trusted", func(t *testing.T) {
		opts := options(srv)
		opts.CACerts = []string{srv.CACert}
		roundTrip(t, create(t, srv, opts))
	})
	t.Run("Untrusted", func(t *testing.T) {
		wantTLSError(t, srv, options(srv), "server certificate not trusted: ")
		wantTLSError(t, srv, options(srv), " (use --cacert)")
	})
}

func TestMTLS(t *testing.T) {
	srv := s3test.NeedMode(t, s3test.MTLS)
	withCert := func(cert string) s3.Options {
		opts := options(srv)
		opts.CACerts, opts.ClientCert = []string{srv.CACert}, cert
		return opts
	}
	t.Run("ClientCert", func(t *testing.T) {
		roundTrip(t, create(t, srv, withCert(srv.ClientCert)))
	})
	t.Run("NoClientCert", func(t *testing.T) {
		wantTLSError(t, srv, withCert(""), "client certificate was rejected")
	})
	t.Run("UnknownClientCert", func(t *testing.T) {
		dir := t.TempDir()
		other, err := s3test.NewCA(filepath.Join(dir, "other.crt"), "another CA")
		if err != nil {
			t.Fatal(err)
		}
		cert := filepath.Join(dir, "stranger.pem")
		if err := other.ClientCert(cert, "stranger", time.Now().Add(-time.Hour), time.Now().Add(time.Hour)); err != nil {
			t.Fatal(err)
		}
		wantTLSError(t, srv, withCert(cert), "client certificate "+cert+" was rejected")
	})
	t.Run("ExpiredClientCert", func(t *testing.T) {
		cert := filepath.Join(t.TempDir(), "expired.pem")
		expiry := time.Date(2024, 3, 1, 12, 0, 0, 0, time.UTC)
		if err := srv.CA.ClientCert(cert, "old", expiry.Add(-time.Hour), expiry); err != nil {
			t.Fatal(err)
		}
		_, err := s3.Create(t.Context(), location(srv), withCert(cert))
		want := "client certificate " + cert + " expired on 2024-03-01T12:00:00Z"
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("create: got %v, want %q", err, want)
		}
	})
}

func TestTLSOptionsNeedHTTPS(t *testing.T) {
	_, err := s3.New("s3:http://127.0.0.1:1/bucket", s3.Options{CACerts: []string{"ca.pem"}})
	if err == nil || !strings.Contains(err.Error(), "need an https endpoint") {
		t.Errorf("new: got %v, want a refusal of --cacert over http", err)
	}
}

// TestInsecureTLS: --insecure-tls reaches a server whose certificate is not trusted.
func TestInsecureTLS(t *testing.T) {
	srv := s3test.NeedMode(t, s3test.TLS)
	opts := options(srv)
	opts.InsecureTLS = true
	roundTrip(t, create(t, srv, opts))
}
