package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/user"
	"path/filepath"
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
	retryBudget time.Duration
	// seeThrough: the command reads locked versions under delete markers and reports
	// them (restore, verify, repair; see remote.Unhider).
	seeThrough bool
}

func (g *globals) register(root *cobra.Command) {
	f := root.PersistentFlags()
	f.StringVarP(&g.repo, "repo", "r", os.Getenv("CAIRN_REPO"), "repository: a directory, or s3:… (env CAIRN_REPO)")
	f.StringVar(&g.passwordFile, "password-file", os.Getenv("CAIRN_PASSWORD_FILE"), "read the password from this file (env CAIRN_PASSWORD_FILE)")
	f.StringVar(&g.passwordCmd, "password-command", os.Getenv("CAIRN_PASSWORD_COMMAND"), "run this shell command and read the password from its output (env CAIRN_PASSWORD_COMMAND)")
	f.StringVar(&g.cacheDir, "cache-dir", "", "cache folder (default: $XDG_CACHE_HOME/cairn)")
	f.BoolVar(&g.noCache, "no-cache", false, "use no local cache")
	f.BoolVar(&g.json, "json", false, "print machine-readable JSON")
	f.BoolVarP(&g.quiet, "quiet", "q", false, "print only errors and the final summary")
	f.StringVar(&g.compression, "compression", "fastest", "compression level: off, fastest, default or max")
	// S3 and TLS flags (docs/s3.md).
	f.StringArrayVar(&g.caCerts, "cacert", nil, "also trust the CA certificates in this PEM file (repeatable)")
	f.StringVar(&g.clientCert, "tls-client-cert", "", "PEM file holding a TLS client certificate and its key")
	f.StringVar(&g.s3Region, "s3-region", "", "region of the S3 bucket (default: $AWS_REGION, $AWS_DEFAULT_REGION)")
	f.DurationVar(&g.retryBudget, "retry-budget", retry.DefaultBudget, "how long to keep retrying a failing S3 request (0: no retries)")
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
	opts := location.StoreOptions{CACerts: g.caCerts, ClientCert: g.clientCert, Region: g.s3Region,
		RetryBudget: g.retryBudget, ObjectLock: objectLock, SeeThrough: g.seeThrough}
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
func (g *globals) open(ctx context.Context) (*repo.Repo, error) {
	st, err := g.store(ctx, false)
	if err != nil {
		return nil, err
	}
	pw, err := g.password("enter password for repository: ")
	if err != nil {
		st.Close()
		return nil, err
	}
	opts, err := g.options(pw)
	if err != nil {
		st.Close()
		return nil, err
	}
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
func stateDir() string {
	if d := os.Getenv("XDG_STATE_HOME"); d != "" {
		return filepath.Join(d, "cairn")
	}
	if h, err := os.UserHomeDir(); err == nil {
		return filepath.Join(h, ".local", "state", "cairn")
	}
	return ""
}
