package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/user"
	"path/filepath"
	"sync"
	"time"

	"github.com/cairn-backup/cairn/internal/location"
	"github.com/cairn-backup/cairn/internal/progress"
	"github.com/cairn-backup/cairn/internal/repo"
	"github.com/cairn-backup/cairn/remote"
	"github.com/cairn-backup/cairn/remote/retry"
	"github.com/spf13/cobra"
)

// globals holds the flags every command shares.
type globals struct {
	repo         string
	passwordFile string
	passwordCmd  string
	// passwordInline is a job profile's own password (from a file only its owner reads).
	passwordInline []byte
	passwordVar    string // the variable holding the password; "" means CAIRN_PASSWORD
	cacheDir       string
	noCache        bool
	json           bool
	quiet          bool
	compression    string

	// S3 and TLS (see docs/s3.md)
	caCerts     []string
	clientCert  string
	s3Region    string
	s3Class     string
	insecureTLS bool
	retryBudget time.Duration

	limitUpload, limitDownload int64 // KiB/s; 0: no limit
	// seeThrough: the command reads locked versions under delete markers and reports
	// them (restore, verify, repair; see remote.Unhider).
	seeThrough bool
}

// retryMu keeps retry lines whole on stderr, which every repository of the process shares
// (copy opens two; a job copies the globals).
var retryMu sync.Mutex

func (g *globals) register(root *cobra.Command) {
	f := root.PersistentFlags()
	f.StringVarP(&g.repo, "repo", "r", "", "repository: a directory, or s3:…")
	f.StringVar(&g.passwordFile, "password-file", "", "read the password from this file")
	f.StringVar(&g.passwordCmd, "password-command", "", "run this shell command and read the password from its output")
	f.StringVar(&g.cacheDir, "cache-dir", "", "cache folder (default: $XDG_CACHE_HOME/cairn)")
	f.BoolVar(&g.noCache, "no-cache", false, "use no local cache")
	f.BoolVar(&g.json, "json", false, "print machine-readable JSON")
	f.BoolVarP(&g.quiet, "quiet", "q", false, "print only errors and the final summary")
	f.StringVar(&g.compression, "compression", "fastest", "compression level: off, fastest, default or max")
	// S3 and TLS flags (docs/s3.md).
	f.StringArrayVar(&g.caCerts, "cacert", nil, "also trust the CA certificates in this PEM file (repeatable)")
	f.StringVar(&g.clientCert, "tls-client-cert", "", "PEM file holding a TLS client certificate and its key")
	f.StringVar(&g.s3Region, "s3-region", "", "region of the S3 bucket (default: $AWS_REGION, $AWS_DEFAULT_REGION)")
	f.StringVar(&g.s3Class, "s3-storage-class", "", "storage `CLASS` of the objects uploaded to S3, e.g. STANDARD_IA (default: the bucket's)")
	f.BoolVar(&g.insecureTLS, "insecure-tls", false, "do not verify the server's TLS certificate (insecure: for tests only)")
	f.DurationVar(&g.retryBudget, "retry-budget", retry.DefaultBudget, "how long to keep retrying a failing S3 request (0: no retries)")
	f.Int64Var(&g.limitUpload, "limit-upload", 0, "limit uploads to `KiB/s` (0: no limit)")
	f.Int64Var(&g.limitDownload, "limit-download", 0, "limit downloads to `KiB/s` (0: no limit)")
	// Every global flag defaults to its CAIRN_* variable; a bad value fails every command.
	if err := envDefaults(f); err != nil {
		root.PersistentPreRunE = func(*cobra.Command, []string) error { return err }
	}
}

// store opens the backend the repository location names; internal/location knows
// which backends exist. A location without a repository is ErrNoRepository.
func (g *globals) store(ctx context.Context, create bool) (remote.Storage, error) {
	return g.storeWith(ctx, create, false)
}

// storeWith is store, for init also with Object Lock (init --object-lock).
func (g *globals) storeWith(ctx context.Context, create, objectLock bool) (remote.Storage, error) {
	if g.repo == "" {
		return nil, fmt.Errorf("%w: no repository given (use --repo or CAIRN_REPO)", repo.ErrNoRepository)
	}
	if g.limitUpload < 0 || g.limitDownload < 0 {
		return nil, errors.New("--limit-upload and --limit-download take KiB/s, 0 or more")
	}
	opts := location.StoreOptions{CACerts: g.caCerts, ClientCert: g.clientCert, Region: g.s3Region, RegionDir: regionDir(), RetryBudget: g.retryBudget,
		LimitUpload: g.limitUpload * 1024, LimitDownload: g.limitDownload * 1024,
		StorageClass: g.s3Class, InsecureTLS: g.insecureTLS, ObjectLock: objectLock, OnRetry: g.reportRetry, SeeThrough: g.seeThrough}
	if g.insecureTLS && location.IsS3(g.repo) {
		fmt.Fprintln(os.Stderr, "cairn: warning: --insecure-tls: the server's certificate is not verified; anyone on the path can read and change what is sent")
	}
	st, err := location.OpenStore(ctx, g.repo, opts, create)
	if !create && errors.Is(err, remote.ErrNotFound) {
		where := g.repo
		if abs, aerr := filepath.Abs(where); aerr == nil && !location.IsS3(where) {
			where = abs
		}
		return nil, fmt.Errorf("%w at %s (run 'cairn init' first)", repo.ErrNoRepository, where)
	}
	return st, err
}

// reportRetry tells, on one stderr line, of each failed storage request that will be
// retried, as it happens: a stuck run says why at once, not after the budget.
func (g *globals) reportRetry(a retry.Attempt) {
	retryMu.Lock()
	defer retryMu.Unlock()
	wait := a.Wait.Round(100 * time.Millisecond)
	if g.json {
		_ = json.NewEncoder(os.Stderr).Encode(map[string]any{"message_type": "retry", "operation": a.Op,
			"attempt": a.Failed, "wait_seconds": wait.Seconds(), "error": a.Err.Error()})
		return
	}
	fmt.Fprintf(os.Stderr, "cairn: %s failed (attempt %d), retrying in %s: %v\n", a.Op, a.Failed, wait, a.Err)
}

func (g *globals) options(password []byte) (repo.Options, error) {
	c, err := repo.ParseCompression(g.compression)
	if err != nil {
		return repo.Options{}, err
	}
	opts := repo.Options{Password: password, Compression: c, StateDir: stateDir()}
	if !g.noCache {
		opts.CacheDir = g.cacheDir
		if opts.CacheDir == "" {
			opts.CacheDir = defaultCacheDir()
		}
	}
	opts.Host, _ = os.Hostname()
	opts.User = currentUser()
	return opts, nil
}

func currentUser() string {
	if u, err := user.Current(); err == nil {
		return u.Username
	}
	return ""
}

// showProgress: a bar only for a person at a terminal, never under cron or --json.
func (g *globals) showProgress() bool {
	return !g.quiet && !g.json && progress.IsTerminal(os.Stderr)
}

// open opens the repository with the password from the usual sources.
func (g *globals) open(ctx context.Context) (*repo.Repo, error) { return g.openAs(ctx, false) }

// openBackup is open for a backup: its run note and the listings it starts with go
// beside the reads of the config and key file (repo.Options.EarlyLists).
func (g *globals) openBackup(ctx context.Context) (*repo.Repo, error) { return g.openAs(ctx, true) }

func (g *globals) openAs(ctx context.Context, early bool) (*repo.Repo, error) {
	st, err := g.store(ctx, false)
	if err != nil {
		return nil, err
	}
	pw, err := g.password("enter password for repository: ")
	if err != nil {
		st.Close()
		return nil, err
	}
	return g.openEarly(ctx, st, pw, early)
}

// openWith opens the repository in st with pw; st is closed when that fails.
func (g *globals) openWith(ctx context.Context, st remote.Storage, pw []byte) (*repo.Repo, error) {
	return g.openEarly(ctx, st, pw, false)
}

func (g *globals) openEarly(ctx context.Context, st remote.Storage, pw []byte, early bool) (*repo.Repo, error) {
	opts, err := g.options(pw)
	if err != nil {
		st.Close()
		return nil, err
	}
	opts.EarlyLists = early
	r, err := repo.Open(ctx, st, opts)
	if err != nil {
		st.Close()
		return nil, err
	}
	return r, nil
}

func defaultCacheDir() string {
	if d := os.Getenv("XDG_CACHE_HOME"); d != "" {
		return filepath.Join(d, "cairn")
	}
	if d, err := os.UserCacheDir(); err == nil {
		return filepath.Join(d, "cairn")
	}
	return ""
}

// stateDir holds what the client must remember about repositories (pins); unlike
// the cache it must not be deleted casually.
// regionDir remembers the regions S3 servers named (internal/location).
func regionDir() string {
	if d := stateDir(); d != "" {
		return filepath.Join(d, "s3-regions")
	}
	return ""
}

func stateDir() string {
	if d := os.Getenv("XDG_STATE_HOME"); d != "" {
		return filepath.Join(d, "cairn")
	}
	if h, err := os.UserHomeDir(); err == nil {
		return filepath.Join(h, ".local", "state", "cairn")
	}
	return ""
}
