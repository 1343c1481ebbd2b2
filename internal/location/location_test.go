package location_test

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/cairn-backup/cairn/internal/location"
	"github.com/cairn-backup/cairn/remote"
	"github.com/cairn-backup/cairn/remote/local"
	"github.com/cairn-backup/cairn/remote/retry"
	"github.com/cairn-backup/cairn/remote/s3/s3test"
)

func TestMain(m *testing.M) { os.Exit(s3test.Main(m)) }

var cfg = remote.Handle{Type: remote.Config}

// initRepo creates the store at loc, writes a config, and closes it.
func initRepo(t *testing.T, loc string, opts location.StoreOptions) remote.Storage {
	t.Helper()
	st, err := location.OpenStore(t.Context(), loc, opts, true)
	if err != nil {
		t.Fatalf("create %s: %v", loc, err)
	}
	if err := st.Put(t.Context(), cfg, remote.Bytes([]byte("cfg"))); err != nil {
		t.Fatal(err)
	}
	return st
}

func TestLocal(t *testing.T) {
	loc := filepath.Join(t.TempDir(), "repo")
	if _, err := location.OpenStore(t.Context(), loc, location.StoreOptions{}, false); !errors.Is(err, remote.ErrNotFound) {
		t.Errorf("open missing: got %v, want ErrNotFound", err)
	}
	if st := initRepo(t, loc, location.StoreOptions{}); !isType[*local.Store](st) {
		t.Errorf("create %s: got %T, want a local store", loc, st)
	}
	st, err := location.OpenStore(t.Context(), loc, location.StoreOptions{RetryBudget: time.Minute}, false)
	if err != nil || !isType[*local.Store](st) {
		t.Errorf("open: got %T, %v; want a local store, not wrapped in retries", st, err)
	}
}

func isType[T any](v any) bool {
	_, ok := v.(T)
	return ok
}

func s3Location(srv *s3test.Server) string {
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	return "s3:" + srv.Endpoint + "/cairn-" + hex.EncodeToString(b)
}

func TestS3WithEnvironmentCredentials(t *testing.T) {
	srv := s3test.Need(t)
	t.Setenv("AWS_ACCESS_KEY_ID", srv.AccessKey)
	t.Setenv("AWS_SECRET_ACCESS_KEY", srv.SecretKey)
	checkS3(t, srv)
}

func TestS3WithProfile(t *testing.T) {
	srv := s3test.Need(t)
	file := filepath.Join(t.TempDir(), "credentials")
	creds := "[default]\naws_access_key_id = wrong\naws_secret_access_key = wrong\n\n" +
		"[cairn]\naws_access_key_id = " + srv.AccessKey + "\naws_secret_access_key = " + srv.SecretKey + "\n"
	if err := os.WriteFile(file, []byte(creds), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, v := range []string{"AWS_ACCESS_KEY_ID", "AWS_ACCESS_KEY", "AWS_SECRET_ACCESS_KEY", "AWS_SECRET_KEY"} {
		t.Setenv(v, "")
	}
	t.Setenv("AWS_SHARED_CREDENTIALS_FILE", file)
	t.Setenv("AWS_PROFILE", "cairn")
	checkS3(t, srv)
}

// checkS3 creates and opens a repository in a fresh bucket with the ambient
// credentials and checks that the store retries.
func checkS3(t *testing.T, srv *s3test.Server) {
	t.Helper()
	loc := s3Location(srv)
	opts := location.StoreOptions{RetryBudget: time.Minute}
	// Opening S3 sends no request; the first read finds the repository absent.
	missing, err := location.OpenStore(t.Context(), loc, opts, false)
	if err != nil {
		t.Fatalf("open a missing bucket: %v", err)
	}
	_, err = remote.ReadAll(t.Context(), missing, remote.Handle{Type: remote.Config}, 0, 0, 1<<20)
	if !errors.Is(err, remote.ErrNoBucket) {
		t.Errorf("read the config in a missing bucket: got %v, want ErrNoBucket", err)
	}
	st := initRepo(t, loc, opts)
	if !isType[*retry.Store](st) {
		t.Errorf("create: got %T, want S3 inside the retry decorator", st)
	}
	st, err = location.OpenStore(t.Context(), loc, opts, false)
	if err != nil {
		t.Fatalf("open: %v", err)
	}
	defer st.Close()
	if st.Location() != loc {
		t.Errorf("location %q, want %q", st.Location(), loc)
	}
	if info, err := st.Stat(t.Context(), cfg); err != nil || info.Size != 3 {
		t.Errorf("stat config: %+v, %v", info, err)
	}
}

// restic's s3:host:port/bucket/prefix form speaks https without being told: a
// repository made through it on a TLS server is found again through the s3:https://
// form, and the store names its location in that canonical form.
func TestS3ResticFormIsHTTPS(t *testing.T) {
	srv := s3test.NeedMode(t, s3test.TLS)
	t.Setenv("AWS_ACCESS_KEY_ID", srv.AccessKey)
	t.Setenv("AWS_SECRET_ACCESS_KEY", srv.SecretKey)
	host := strings.TrimPrefix(srv.Endpoint, "https://")
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	path := "cairn-" + hex.EncodeToString(b) + "/host/web1"
	opts := location.StoreOptions{CACerts: []string{srv.CACert}}
	st := initRepo(t, "s3:"+host+"/"+path, opts)
	if want := "s3:https://" + host + "/" + path; st.Location() != want {
		t.Errorf("location %q, want %q", st.Location(), want)
	}
	st.Close()
	again, err := location.OpenStore(t.Context(), "s3:https://"+host+"/"+path, opts, false)
	if err != nil {
		t.Fatal(err)
	}
	defer again.Close()
	if info, err := again.Stat(t.Context(), cfg); err != nil || info.Size != 3 {
		t.Errorf("stat config through s3:https://: %+v, %v", info, err)
	}
}
