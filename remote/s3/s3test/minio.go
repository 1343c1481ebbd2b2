// Package s3test runs what the S3 tests need on 127.0.0.1 and nowhere else: a real
// MinIO server (plain, TLS, or behind a TLS front that requires client certificates),
// the certificates for it, and a seeded fault-injecting proxy. It is a test helper:
// everything it starts is bounded in time and stopped by Stop or Close.
package s3test

import (
	"context"
	"errors"
	"fmt"
	"go/build"
	"os"
	"os/exec"
	"path/filepath"
	"time"

	"golang.org/x/sync/errgroup"
)

// Mode is how a test server speaks: plain HTTP, TLS, or TLS that requires a client
// certificate (mtls); erasure is plain HTTP over four drives with erasure coding, the
// way a bucket shared by many hosts is usually served.
type Mode string

// The modes of Start.
const (
	Plain   Mode = "plain"
	TLS     Mode = "tls"
	MTLS    Mode = "mtls"
	Erasure Mode = "erasure"
)

// ErrNoMinIO: no minio binary was found; see Binary.
var ErrNoMinIO = errors.New("minio binary not found (run scripts/minio install)")

// readyTimeout bounds the wait for a starting MinIO to answer.
const readyTimeout = 30 * time.Second

// Server is a running MinIO, possibly behind a TLS front.
type Server struct {
	Mode     Mode
	Endpoint string // http://127.0.0.1:PORT or https://127.0.0.1:PORT
	// AccessKey and SecretKey are the random root credentials.
	AccessKey, SecretKey string
	CACert               string // PEM file of the CA that signed the server (tls, mtls)
	ClientCert           string // PEM file with a client certificate and key (mtls)
	CA                   *CA    // the CA, to issue more certificates (tls, mtls)
	PID                  int    // of the MinIO process

	cmd    *exec.Cmd
	waiter errgroup.Group // runs cmd.Wait
	exited chan struct{}  // closed when the process has exited
	front  *Front         // mtls only
	dir    string
}

// Binary finds the minio executable: $CAIRN_MINIO, then $PATH, then $GOPATH/bin.
func Binary() (string, error) {
	if p := os.Getenv("CAIRN_MINIO"); p != "" {
		return p, nil
	}
	if p, err := exec.LookPath("minio"); err == nil {
		return p, nil
	}
	for _, gp := range filepath.SplitList(build.Default.GOPATH) {
		p := filepath.Join(gp, "bin", "minio")
		if fi, err := os.Stat(p); err == nil && fi.Mode().IsRegular() {
			return p, nil
		}
	}
	return "", ErrNoMinIO
}

// Start starts MinIO in mode with its data, certificates and log under a new
// temporary folder in dir. For mtls a plain MinIO listens on a port of its own and a
// TLS front that requires client certificates serves the endpoint.
func Start(ctx context.Context, mode Mode, dir string) (*Server, error) {
	if mode != Plain && mode != TLS && mode != MTLS && mode != Erasure {
		return nil, fmt.Errorf("start minio: unknown mode %q (want plain, tls, mtls or erasure)", mode)
	}
	bin, err := Binary()
	if err != nil {
		return nil, err
	}
	work, err := os.MkdirTemp(dir, "minio-"+string(mode)+"-")
	if err != nil {
		return nil, fmt.Errorf("start minio: %w", err)
	}
	s := &Server{Mode: mode, AccessKey: "cairn-" + randomHex(6), SecretKey: randomHex(20), dir: work}
	if err := s.start(ctx, bin); err != nil {
		return nil, errors.Join(fmt.Errorf("start minio: %w", err), s.Stop())
	}
	return s, nil
}

// start makes the certificates, runs MinIO, and for mtls the front.
func (s *Server) start(ctx context.Context, bin string) error {
	if s.Mode != Plain && s.Mode != Erasure {
		if err := s.makeCerts(); err != nil {
			return err
		}
	}
	if err := s.startProcess(ctx, bin); err != nil {
		return err
	}
	if s.Mode == MTLS {
		front, err := StartFront(ctx, s.Endpoint, s.dir, s.CA, true)
		if err != nil {
			return err
		}
		s.front, s.Endpoint = front, front.URL
	}
	return nil
}

// makeCerts writes a CA, a server certificate for 127.0.0.1 and localhost, and for
// mtls a client certificate.
func (s *Server) makeCerts() error {
	ca, err := NewCA(filepath.Join(s.dir, "ca.crt"), "cairn test CA")
	if err != nil {
		return err
	}
	s.CA, s.CACert = ca, ca.CertFile
	certs := filepath.Join(s.dir, "certs")
	if err := os.MkdirAll(certs, 0o700); err != nil {
		return err
	}
	if s.Mode == TLS {
		// MinIO finds its own certificate here by these names.
		err = ca.ServerCert(filepath.Join(certs, "public.crt"), filepath.Join(certs, "private.key"))
		if err != nil {
			return err
		}
	}
	if s.Mode == MTLS {
		s.ClientCert = filepath.Join(s.dir, "client.pem")
		now := time.Now()
		return ca.ClientCert(s.ClientCert, "cairn test client", now.Add(-time.Hour), now.Add(24*time.Hour))
	}
	return nil
}

// Stop ends the TLS front and MinIO and removes the temporary folder.
func (s *Server) Stop() error {
	var errs []error
	if s.front != nil {
		errs = append(errs, s.front.Close())
		s.front = nil
	}
	s.stopProcess()
	errs = append(errs, os.RemoveAll(s.dir))
	return errors.Join(errs...)
}

// Env returns the variables the tests read to find this server.
func (s *Server) Env() []string {
	env := []string{
		"CAIRN_TEST_S3_ENDPOINT=" + s.Endpoint,
		"CAIRN_TEST_S3_ACCESS_KEY=" + s.AccessKey,
		"CAIRN_TEST_S3_SECRET_KEY=" + s.SecretKey,
		fmt.Sprintf("CAIRN_TEST_S3_PID=%d", s.PID),
	}
	if s.CACert != "" {
		env = append(env, "CAIRN_TEST_S3_CACERT="+s.CACert)
	}
	if s.ClientCert != "" {
		env = append(env, "CAIRN_TEST_S3_CLIENT_CERT="+s.ClientCert)
	}
	return env
}
