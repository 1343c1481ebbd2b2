// Package location opens the storage a repository location names. With cmd/cairn it is
// the only place that knows which backends exist: a location starting with "s3:" is a
// bucket (remote/s3, wrapped in the retry decorator), anything else a directory.
package location

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"time"

	"github.com/cairn-backup/cairn/remote"
	"github.com/cairn-backup/cairn/remote/local"
	"github.com/cairn-backup/cairn/remote/retry"
	"github.com/cairn-backup/cairn/remote/s3"
	"github.com/cairn-backup/cairn/remote/throttle"
)

// StoreOptions are the global flags that shape a store. Local stores ignore them.
type StoreOptions struct {
	CACerts    []string // --cacert: extra CAs for an https endpoint
	ClientCert string   // --tls-client-cert: certificate and key in one PEM file
	Region     string   // --s3-region
	// RegionDir remembers, per location, the region an S3 server named when no
	// Region was given (region.go); empty: nothing is remembered.
	RegionDir string
	// --s3-storage-class and --insecure-tls
	StorageClass string
	InsecureTLS  bool
	RetryBudget  time.Duration // --retry-budget: 0 retries nothing beyond the S3 client
	// --limit-upload and --limit-download, in bytes per second (0: no limit); they
	// hold for every backend.
	LimitUpload, LimitDownload int64
	ObjectLock                 bool                // init --object-lock: a bucket with Object Lock; a directory is refused
	OnRetry                    func(retry.Attempt) // told of each retried failure (see retry.Options.Notify)
	SeeThrough                 bool                // read locked versions under delete markers (restore, verify, repair)
}

// IsS3 reports whether location names an S3 bucket.
func IsS3(location string) bool { return strings.HasPrefix(location, "s3:") }

// OpenStore opens the store at location, or with create makes it (see local.Create
// and s3.Create); creating where a repository already is fails wrapping
// remote.ErrExists. Opening a local folder that holds no repository fails wrapping
// remote.ErrNotFound; opening S3 sends no request, and repo.Open finds a missing
// repository or bucket when it reads the config.
func OpenStore(ctx context.Context, location string, opts StoreOptions, create bool) (remote.Storage, error) {
	st, err := openStore(ctx, location, opts, create)
	if err != nil {
		return nil, err
	}
	return throttle.New(st, opts.LimitUpload, opts.LimitDownload), nil
}

func openStore(ctx context.Context, location string, opts StoreOptions, create bool) (remote.Storage, error) {
	if location == "" {
		return nil, errors.New("no repository location given")
	}
	if IsS3(location) {
		return openS3(ctx, location, opts, create)
	}
	if opts.ObjectLock {
		return nil, fmt.Errorf("%w: %s is a local directory, which cannot lock objects (--object-lock needs an S3 bucket)", remote.ErrNoLock, location)
	}
	dir, err := filepath.Abs(location)
	if err != nil {
		return nil, err
	}
	var st *local.Store
	if create {
		st, err = local.Create(ctx, dir)
	} else {
		st, err = local.Open(ctx, dir)
	}
	if err != nil {
		return nil, err
	}
	return st, nil
}

// openS3 opens a bucket and wraps it in retries; a local disk needs none.
func openS3(ctx context.Context, location string, opts StoreOptions, create bool) (remote.Storage, error) {
	so := s3.Options{CACerts: opts.CACerts, ClientCert: opts.ClientCert, Region: opts.Region, ObjectLock: opts.ObjectLock,
		StorageClass: opts.StorageClass, InsecureTLS: opts.InsecureTLS, SeeThrough: opts.SeeThrough}
	if so.Region == "" {
		so.Region = loadRegion(opts.RegionDir, location)
		so.OnRegion = func(r string) { saveRegion(opts.RegionDir, location, r) }
		so.ForgetRegion = func() { forgetRegion(opts.RegionDir, location) }
	}
	if create {
		st, err := s3.Create(ctx, location, so)
		if err != nil {
			return nil, err
		}
		return retry.New(st, retry.Options{Budget: opts.RetryBudget, Notify: opts.OnRetry}), nil
	}
	st, err := s3.New(location, so)
	if err != nil {
		return nil, err
	}
	// No Stat of the config here: opening the repository reads it through the
	// retries anyway, so an outage at the start of a nightly run is waited out there.
	return retry.New(st, retry.Options{Budget: opts.RetryBudget, Notify: opts.OnRetry}), nil
}
