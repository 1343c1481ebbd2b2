package s3test

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"path/filepath"
	"time"

	"golang.org/x/sync/errgroup"
)

// Front terminates TLS in front of a plain HTTP server on 127.0.0.1, optionally
// requiring a client certificate signed by the CA: MinIO checks client certificates
// only for its STS API, so the requirement at the TLS layer lives here.
type Front struct {
	URL string // https://127.0.0.1:PORT

	srv *http.Server
	g   errgroup.Group
}

// StartFront serves https on a free port of 127.0.0.1 and forwards every request to
// upstream, an http URL on the loopback interface. The server certificate is issued
// by ca into dir.
func StartFront(ctx context.Context, upstream, dir string, ca *CA, requireClientCert bool) (*Front, error) {
	target, err := loopbackURL(upstream)
	if err != nil {
		return nil, fmt.Errorf("start tls front: %w", err)
	}
	certFile, keyFile := filepath.Join(dir, "front.crt"), filepath.Join(dir, "front.key")
	if err := ca.ServerCert(certFile, keyFile); err != nil {
		return nil, fmt.Errorf("start tls front: %w", err)
	}
	cert, err := tls.LoadX509KeyPair(certFile, keyFile)
	if err != nil {
		return nil, fmt.Errorf("start tls front: %w", err)
	}
	cfg := &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}
	if requireClientCert {
		cfg.ClientAuth = tls.RequireAndVerifyClientCert
		cfg.ClientCAs = ca.CertPool()
	}
	var lc net.ListenConfig
	l, err := lc.Listen(ctx, "tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("start tls front: %w", err)
	}
	f := &Front{URL: "https://" + l.Addr().String()}
	f.srv = &http.Server{
		Handler:           forwarder(target, nil),
		ReadHeaderTimeout: 10 * time.Second,
		// Rejected handshakes are what some tests are about: not worth a log line.
		ErrorLog: log.New(io.Discard, "", 0),
	}
	tl := tls.NewListener(l, cfg)
	f.g.Go(func() error { return serve(f.srv, tl) })
	return f, nil
}

// Close stops the front and waits for it.
func (f *Front) Close() error {
	return shutdown(f.srv, &f.g)
}

// forwarder is a reverse proxy to target that keeps the client's Host header: S3
// signatures cover it, so the upstream must see the host the client signed for.
func forwarder(target *url.URL, transport http.RoundTripper) *httputil.ReverseProxy {
	return &httputil.ReverseProxy{
		Rewrite: func(pr *httputil.ProxyRequest) {
			pr.SetURL(target)
			pr.Out.Host = pr.In.Host
		},
		Transport: transport,
		ErrorLog:  log.New(io.Discard, "", 0),
	}
}

// serve runs srv on l until shutdown, which is not an error.
func serve(srv *http.Server, l net.Listener) error {
	err := srv.Serve(l)
	if errors.Is(err, http.ErrServerClosed) {
		return nil
	}
	return err
}

// shutdown stops srv, cutting connections still open after a short grace period (a
// hanging fault must not hold up the end of a test), and waits for its serve loop.
func shutdown(srv *http.Server, g *errgroup.Group) error {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	err := srv.Shutdown(ctx)
	if err != nil {
		err = srv.Close()
	}
	return errors.Join(err, g.Wait())
}

// loopbackURL parses an http URL and refuses any host but a loopback address: these
// helpers must never touch another machine.
func loopbackURL(raw string) (*url.URL, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return nil, err
	}
	if u.Scheme != "http" {
		return nil, fmt.Errorf("upstream %s: want an http URL", raw)
	}
	ip := net.ParseIP(u.Hostname())
	if u.Hostname() != "localhost" && (ip == nil || !ip.IsLoopback()) {
		return nil, fmt.Errorf("upstream %s: not a loopback address", raw)
	}
	return u, nil
}
