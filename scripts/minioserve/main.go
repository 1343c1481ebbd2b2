// Command minioserve runs a test MinIO for scripts/minio: it starts one in the mode
// asked (plain, tls, mtls) under DIR, writes DIR/MODE.env, and stops it on SIGTERM or
// SIGINT. It stays in the foreground; scripts/minio puts it in the background.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"

	"github.com/cairn-backup/cairn/remote/s3/s3test"
)

func main() {
	mode := flag.String("mode", "plain", "plain, tls or mtls")
	dir := flag.String("dir", "", "folder for the data and the env file")
	flag.Parse()
	if err := run(s3test.Mode(*mode), *dir); err != nil {
		fmt.Fprintln(os.Stderr, "minioserve:", err)
		os.Exit(1)
	}
}

func run(mode s3test.Mode, dir string) error {
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
	if err := writeAtomic(envFile, strings.Join(env, "\n")+"\n"); err != nil {
		return errors.Join(err, srv.Stop())
	}
	<-ctx.Done()
	return errors.Join(os.Remove(envFile), srv.Stop())
}

// writeAtomic writes through a temporary file so a reader never sees half a file.
func writeAtomic(file, content string) error {
	tmp := file + ".tmp"
	if err := os.WriteFile(tmp, []byte(content), 0o600); err != nil {
		return err
	}
	return os.Rename(tmp, file)
}
