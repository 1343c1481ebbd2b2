// Command minioserve runs a test MinIO for scripts/minio: it starts one in the mode
// asked (plain, tls, mtls) under DIR, writes DIR/MODE.env, and stops it on SIGTERM or
// SIGINT. It stays in the foreground; scripts/minio puts it in the background.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/cairn-backup/cairn/remote/s3/s3test"
	"golang.org/x/sync/errgroup"
)

func main() {
	mode := flag.String("mode", "plain", "plain, tls, mtls or erasure (plain over four drives)")
	dir := flag.String("dir", "", "folder for the data and the env file")
	count := flag.Bool("count", false, "plain only: put a counting proxy in front (CAIRN_TEST_S3_PROXY), keep its request counts in DIR/counts.json and each request's span in DIR/requests.log")
	delay := flag.Duration("delay", 0, "with -count: the proxy holds every request this long (a distant bucket's round trip)")
	flag.Parse()
	if err := run(s3test.Mode(*mode), *dir, *count, *delay); err != nil {
		fmt.Fprintln(os.Stderr, "minioserve:", err)
		os.Exit(1)
	}
}

func run(mode s3test.Mode, dir string, count bool, delay time.Duration) error {
	if dir == "" {
		return errors.New("no -dir given")
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	srv, err := s3test.Start(ctx, mode, dir)
	if err != nil {
		return err
	}
	envFile := filepath.Join(dir, string(mode)+".env")
	env := append(srv.Env(), fmt.Sprintf("CAIRN_TEST_S3_HELPER_PID=%d", os.Getpid()))
	if count && mode == s3test.Plain {
		proxy, log, err := startProxy(ctx, srv.Endpoint, dir, delay)
		if err != nil {
			return errors.Join(err, srv.Stop())
		}
		defer log.Close()
		defer proxy.Close()
		env = append(env, "CAIRN_TEST_S3_PROXY="+proxy.URL)
		var g errgroup.Group
		defer g.Wait()
		g.Go(func() error { writeCounts(ctx, proxy, filepath.Join(dir, "counts.json")); return nil })
	}
	if err := writeAtomic(envFile, strings.Join(env, "\n")+"\n"); err != nil {
		return errors.Join(err, srv.Stop())
	}
	<-ctx.Done()
	return errors.Join(os.Remove(envFile), srv.Stop())
}

// startProxy starts the counting proxy in front of endpoint, each request's span
// logged to DIR/requests.log (the caller closes the log after the proxy).
func startProxy(ctx context.Context, endpoint, dir string, delay time.Duration) (*s3test.FaultProxy, *os.File, error) {
	log, err := os.Create(filepath.Join(dir, "requests.log"))
	if err != nil {
		return nil, nil, err
	}
	cfg := s3test.Config{Upstream: endpoint, CountOnly: true, Delay: delay, Trace: traceTo(log)}
	proxy, err := s3test.StartFaultProxy(ctx, cfg)
	if err != nil {
		return nil, nil, errors.Join(err, log.Close())
	}
	return proxy, log, nil
}

// traceTo returns a Trace that appends "START_NS END_NS OP TARGET" lines to f, one a
// request.
func traceTo(f *os.File) func(op s3test.Op, target string, start, end time.Time) {
	var mu sync.Mutex
	return func(op s3test.Op, target string, start, end time.Time) {
		mu.Lock()
		defer mu.Unlock()
		fmt.Fprintf(f, "%d %d %s %s\n", start.UnixNano(), end.UnixNano(), op, target)
	}
}

// writeAtomic writes through a temporary file so a reader never sees half a file.
func writeAtomic(file, content string) error {
	tmp := file + ".tmp"
	if err := os.WriteFile(tmp, []byte(content), 0o600); err != nil {
		return err
	}
	return os.Rename(tmp, file)
}

// writeCounts keeps the proxy's request counts in file, for benchmarks that compare
// the requests two tools make.
func writeCounts(ctx context.Context, proxy *s3test.FaultProxy, file string) {
	t := time.NewTicker(50 * time.Millisecond)
	defer t.Stop()
	for {
		data, _ := json.Marshal(proxy.Counts())
		_ = writeAtomic(file, string(data)+"\n")
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}
