package s3test

import (
	"context"
	"crypto/rand"
	"crypto/tls"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"
)

// startProcess runs MinIO on a free port, retrying when another process took the port
// between the probe and MinIO's bind.
func (s *Server) startProcess(ctx context.Context, bin string) error {
	var err error
	for range 3 {
		var port int
		if port, err = freePort(); err != nil {
			return err
		}
		if err = s.run(ctx, bin, port); err == nil {
			return nil
		}
	}
	return err
}

// run starts MinIO on port and waits until it answers, or it exits, or time runs out.
func (s *Server) run(ctx context.Context, bin string, port int) error {
	addr := fmt.Sprintf("127.0.0.1:%d", port)
	logf, err := os.OpenFile(filepath.Join(s.dir, "minio.log"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return err
	}
	defer logf.Close() // the child holds its own copy
	data := filepath.Join(s.dir, "data")
	if s.Mode == Erasure {
		data += "{1...4}" // MinIO's own expansion: four drives, erasure coded
	}
	cmd := exec.Command(bin, "server", "--quiet", "--address", addr,
		"--certs-dir", filepath.Join(s.dir, "certs"), data)
	cmd.Env = append(minioEnv(), "MINIO_ROOT_USER="+s.AccessKey, "MINIO_ROOT_PASSWORD="+s.SecretKey)
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.SysProcAttr = childAttr()
	if err := cmd.Start(); err != nil {
		return err
	}
	s.cmd, s.PID, s.exited = cmd, cmd.Process.Pid, make(chan struct{})
	s.waiter.Go(func() error {
		defer close(s.exited)
		return cmd.Wait()
	})
	scheme := "http"
	if s.Mode == TLS {
		scheme = "https"
	}
	s.Endpoint = scheme + "://" + addr
	if err := s.waitReady(ctx); err != nil {
		s.stopProcess()
		return fmt.Errorf("%w (log: %s)", err, filepath.Join(s.dir, "minio.log"))
	}
	return nil
}

// minioEnv is the environment of the child: ours without MinIO or AWS settings that
// could change its behaviour, plus quiet defaults. Its metrics are public so that
// benchmarks read request counts from the server itself rather than through a proxy
// that would share the client's cores.
func minioEnv() []string {
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "MINIO_") && !strings.HasPrefix(kv, "AWS_") {
			env = append(env, kv)
		}
	}
	return append(env, "MINIO_BROWSER=off", "MINIO_UPDATE=off", "MINIO_CI_CD=on", "MINIO_PROMETHEUS_AUTH_TYPE=public")
}

// waitReady polls the health endpoint until MinIO answers 200.
func (s *Server) waitReady(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, readyTimeout)
	defer cancel()
	client := s.healthClient()
	defer client.CloseIdleConnections()
	for {
		if s.answers(ctx, client) {
			return nil
		}
		select {
		case <-s.exited:
			return errors.New("minio exited before it was ready")
		case <-ctx.Done():
			return fmt.Errorf("minio not ready: %w", ctx.Err())
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// healthClient is an HTTP client that trusts the server's CA, if it has one.
func (s *Server) healthClient() *http.Client {
	tr := &http.Transport{}
	if s.CA != nil {
		tr.TLSClientConfig = &tls.Config{RootCAs: s.CA.CertPool(), MinVersion: tls.VersionTLS12}
	}
	return &http.Client{Transport: tr, Timeout: 5 * time.Second}
}

// answers reports whether the S3 API is up: the health check passes before it is,
// so an anonymous bucket listing must be refused (403), not put off (503).
func (s *Server) answers(ctx context.Context, client *http.Client) bool {
	for _, path := range []string{"/minio/health/ready", "/"} {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, s.Endpoint+path, nil)
		if err != nil {
			return false
		}
		resp, err := client.Do(req)
		if err != nil {
			return false
		}
		resp.Body.Close()
		if resp.StatusCode >= http.StatusInternalServerError {
			return false
		}
	}
	return true
}

// stopGrace is how long MinIO may take to shut down before SIGKILL: its data is
// thrown away, so a graceful exit is a courtesy, not worth the seconds it can take.
const stopGrace = time.Second

// stopProcess ends MinIO: SIGTERM, then SIGKILL after stopGrace.
func (s *Server) stopProcess() {
	if s.cmd == nil {
		return
	}
	_ = s.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-s.exited:
	case <-time.After(stopGrace):
		_ = s.cmd.Process.Kill()
		<-s.exited // a killed process always exits
	}
	_ = s.waiter.Wait() // the exit status of a terminated server says nothing
	s.cmd = nil
}

// freePort asks the kernel for a free port on 127.0.0.1.
func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b) // never fails
	return hex.EncodeToString(b)
}
