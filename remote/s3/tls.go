package s3

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"time"

	"github.com/minio/minio-go/v7"

	"github.com/cairn-backup/cairn/remote"
)

// newTransport is minio-go's default transport with the extra CAs and the client
// certificate of opts.
func newTransport(secure bool, opts Options, now time.Time) (*http.Transport, error) {
	tr, err := minio.DefaultTransport(secure)
	if err != nil {
		return nil, err
	}
	if !secure {
		if len(opts.CACerts) > 0 || opts.ClientCert != "" {
			return nil, errors.New("--cacert and --tls-client-cert need an https endpoint")
		}
		return tr, nil
	}
	cfg := &tls.Config{MinVersion: tls.VersionTLS12, InsecureSkipVerify: opts.InsecureTLS} //nolint:gosec // asked for by --insecure-tls
	if len(opts.CACerts) > 0 {
		if cfg.RootCAs, err = certPool(opts.CACerts); err != nil {
			return nil, err
		}
	}
	if opts.ClientCert != "" {
		cert, err := loadClientCert(opts.ClientCert, now)
		if err != nil {
			return nil, err
		}
		cfg.Certificates = []tls.Certificate{cert}
	}
	tr.TLSClientConfig = cfg
	return tr, nil
}

// certPool is the system's CAs plus the PEM certificates in files.
func certPool(files []string) (*x509.CertPool, error) {
	pool, err := x509.SystemCertPool()
	if err != nil {
		pool = x509.NewCertPool() // no system pool: only the given CAs
	}
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			return nil, fmt.Errorf("read --cacert: %w", err)
		}
		if !pool.AppendCertsFromPEM(data) {
			return nil, fmt.Errorf("read --cacert %s: no PEM certificate in it", f)
		}
	}
	return pool, nil
}

// loadClientCert reads a PEM file holding a certificate and its key, and refuses one
// that is expired or not yet valid: better a clear message now than a TLS alert later.
func loadClientCert(file string, now time.Time) (tls.Certificate, error) {
	cert, err := tls.LoadX509KeyPair(file, file)
	if err != nil {
		return tls.Certificate{}, fmt.Errorf("load --tls-client-cert %s (want certificate and key in one PEM file): %w", file, err)
	}
	leaf := cert.Leaf
	if leaf == nil {
		if leaf, err = x509.ParseCertificate(cert.Certificate[0]); err != nil {
			return tls.Certificate{}, fmt.Errorf("load --tls-client-cert %s: %w", file, err)
		}
	}
	if now.After(leaf.NotAfter) {
		return tls.Certificate{}, fmt.Errorf("client certificate %s expired on %s", file, leaf.NotAfter.UTC().Format(time.RFC3339))
	}
	if now.Before(leaf.NotBefore) {
		return tls.Certificate{}, fmt.Errorf("client certificate %s is not valid before %s", file, leaf.NotBefore.UTC().Format(time.RFC3339))
	}
	return cert, nil
}

// tlsError explains a TLS failure in one line and marks it remote.ErrTLS, or returns
// nil for any other error.
func (s *Store) tlsError(err error) error {
	var unknown x509.UnknownAuthorityError
	var host x509.HostnameError
	var invalid x509.CertificateInvalidError
	var alert *net.OpError
	switch {
	case errors.As(err, &unknown):
		return tlsFailure(err, "server certificate not trusted: %v (use --cacert)", unknown)
	case errors.As(err, &host):
		return tlsFailure(err, "server certificate does not fit the endpoint: %v", host)
	case errors.As(err, &invalid):
		return tlsFailure(err, "server certificate not valid: %v", invalid)
	case errors.As(err, &alert) && alert.Op == "remote error":
		// A TLS alert from the server. With TLS 1.3 a refused client certificate shows
		// only here, on the first read after the handshake.
		if s.clientCert == "" {
			return tlsFailure(err, "client certificate was rejected: none given, and the server wants one (use --tls-client-cert): %v", alert)
		}
		return tlsFailure(err, "client certificate %s was rejected by the server: %v", s.clientCert, alert)
	}
	return nil
}

func tlsFailure(err error, format string, args ...any) error {
	return &classified{msg: fmt.Sprintf(format, args...), kind: remote.ErrTLS, err: err}
}
