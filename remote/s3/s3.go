// Package s3 stores a repository in a bucket of any S3-compatible server (AWS,
// MinIO, Ceph, Garage…) through minio-go, under an optional key prefix, in the layout
// of the local store: config, keys/<name>, snapshots/<name>, index/<name>,
// data/<first two characters>/<name>, locks/<name>.
//
// Every upload is checked before Put returns nil: known length, Content-MD5 that the
// server verifies, the ETag against the MD5, and a HEAD that confirms size and ETag.
// Errors are translated into the sentinels of package remote. Retries beyond
// minio-go's own short ones belong to remote/retry.
package s3

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"path"
	"sync/atomic"
	"time"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"

	"github.com/cairn-backup/cairn/remote"
)

// clientRetries are minio-go's own attempts per request: few and short (at most about
// a second of waiting), as remote/retry spends the long budget.
const clientRetries = 3

// Options are what a location cannot say.
type Options struct {
	CACerts    []string // PEM files of CAs to trust beside the system's (--cacert)
	ClientCert string   // PEM file with a client certificate and its key (--tls-client-cert)
	// Region of the bucket (--s3-region). For AWS it defaults to $AWS_REGION, then
	// $AWS_DEFAULT_REGION; otherwise minio-go asks the server.
	Region string
	// OnRegion, when set and Region is empty, is told on Close the region the client
	// learnt from the server (a bucket-location request before its first request), so
	// that a later run can pass it as Region and skip that round trip. It is not
	// called when the store answered no request.
	OnRegion func(region string)
	// ForgetRegion, when set, is called if the server refuses Region as the bucket's (a
	// remembered region gone stale: the bucket was made again elsewhere), so that the
	// next run asks again instead of failing the same way.
	ForgetRegion func()
	// StorageClass is sent with every upload (--s3-storage-class, e.g. STANDARD_IA);
	// empty: the bucket's default.
	StorageClass string
	// InsecureTLS skips the verification of the server's certificate (--insecure-tls).
	InsecureTLS bool
	// AccessKeyID, SecretAccessKey and SessionToken, when AccessKeyID is set, replace
	// the credential chain ($AWS_ACCESS_KEY_ID…, $AWS_PROFILE and the shared
	// credentials file, IAM instance roles). For tests and embedding.
	AccessKeyID, SecretAccessKey, SessionToken string
	// ObjectLock makes Create make the bucket with Object Lock (and versioning) enabled,
	// or refuse an existing bucket that lacks it (init --object-lock).
	ObjectLock bool
	// SeeThrough makes listings and reads see through delete markers and overwrites
	// to the locked version below them, and remember what they found (see
	// remote.Unhider): for restore, verify and repair. It lists every version of a
	// type once before its first read.
	SeeThrough bool
}

// Store is an S3-backed remote.Storage, safe for concurrent use.
type Store struct {
	client     *minio.Client
	core       minio.Core // for GetObject with the response headers
	transport  *http.Transport
	ep         endpoint
	region     string
	clientCert string // for messages
	listPage   int    // keys per listing request of Confirm
	objectLock bool   // Create makes the bucket with Object Lock, or checks it has it
	locks      writeLock
	creds      *credProvider
	class      string // storage class of uploads; empty: the bucket's default
	seeThrough bool
	seen       seen
	onRegion   func(string)
	forget     func()       // Options.ForgetRegion
	answered   *atomic.Bool // some request had an answer
}

var _ remote.Storage = (*Store)(nil)

// New returns a store for location without any request: Create and Open check the
// bucket and the config.
func New(location string, opts Options) (*Store, error) {
	ep, err := parseLocation(location)
	if err != nil {
		return nil, err
	}
	tr, err := newTransport(ep.secure, opts, time.Now())
	if err != nil {
		return nil, fmt.Errorf("s3 %s: %w", ep, err)
	}
	s := &Store{transport: tr, ep: ep, region: ep.region(opts.Region), clientCert: opts.ClientCert, listPage: listPage,
		objectLock: opts.ObjectLock, class: opts.StorageClass, seeThrough: opts.SeeThrough,
		seen:     seen{listed: map[remote.Type]bool{}, hidden: map[remote.Handle]remote.Hidden{}},
		answered: &atomic.Bool{}}
	if s.region == "" {
		s.onRegion = opts.OnRegion
	} else {
		s.forget = opts.ForgetRegion
	}
	// Path-style for other servers, which rarely have DNS per bucket; for AWS minio-go
	// picks virtual-host style, except where TLS forbids it (bucket names with dots).
	lookup := minio.BucketLookupPath
	if ep.aws {
		lookup = minio.BucketLookupAuto
	}
	s.creds = &credProvider{Provider: credentialChain(opts)}
	s.client, err = minio.New(ep.host, &minio.Options{
		Creds:        credentials.New(s.creds),
		Secure:       ep.secure,
		Transport:    hintTransport{base: tr, answered: s.answered},
		Region:       s.region,
		BucketLookup: lookup,
		MaxRetries:   clientRetries,
	})
	if err != nil {
		return nil, fmt.Errorf("s3 %s: %w", ep, err)
	}
	s.core = minio.Core{Client: s.client}
	return s, nil
}

// credentialChain: static credentials when given, else the usual AWS sources in the
// order of the AWS tools. Secrets are never logged or printed.
func credentialChain(opts Options) credentials.Provider {
	if opts.AccessKeyID != "" {
		return &credentials.Static{Value: credentials.Value{AccessKeyID: opts.AccessKeyID,
			SecretAccessKey: opts.SecretAccessKey, SessionToken: opts.SessionToken, SignerType: credentials.SignatureV4}}
	}
	return &credentials.Chain{Providers: []credentials.Provider{
		&credentials.EnvAWS{},
		&credentials.FileAWSCredentials{},
		&credentials.IAM{Client: &http.Client{Transport: http.DefaultTransport}},
	}}
}

// credProvider remembers whether the chain found no credentials at all, so that a
// refusal can say so ("no S3 credentials found") instead of "access denied".
type credProvider struct {
	credentials.Provider
	anonymous atomic.Bool
}

func (p *credProvider) Retrieve() (credentials.Value, error) {
	return p.note(p.Provider.Retrieve())
}

func (p *credProvider) RetrieveWithCredContext(cc *credentials.CredContext) (credentials.Value, error) {
	return p.note(p.Provider.RetrieveWithCredContext(cc))
}

func (p *credProvider) note(v credentials.Value, err error) (credentials.Value, error) {
	p.anonymous.Store(err == nil && v.AccessKeyID == "" && v.SecretAccessKey == "")
	return v, err
}

// Create makes the bucket if it is missing (and the credentials may), then checks
// that no repository is there yet. It fails with remote.ErrExists when a config exists.
func Create(ctx context.Context, location string, opts Options) (*Store, error) {
	s, err := New(location, opts)
	if err != nil {
		return nil, err
	}
	if err := s.ensureBucket(ctx); err != nil {
		s.Close()
		return nil, fmt.Errorf("create %s: %w", s.ep, err)
	}
	_, err = s.Stat(ctx, remote.Handle{Type: remote.Config})
	if err == nil {
		err = remote.ErrExists
	} else if errors.Is(err, remote.ErrNotFound) {
		return s, nil
	}
	s.Close()
	return nil, fmt.Errorf("create %s: %w", s.ep, err)
}

// ensureBucket creates the bucket when it does not exist. A denied existence check
// is taken as "exists": a key may be allowed objects but not the bucket.
func (s *Store) ensureBucket(ctx context.Context) error {
	ctx, h := withHint(ctx)
	ok, err := s.client.BucketExists(ctx, s.ep.bucket)
	err = s.translate(ctx, err, h)
	if errors.Is(err, remote.ErrPermission) {
		return nil
	}
	if err != nil {
		return err
	}
	if ok {
		if s.objectLock {
			return s.CheckLock(ctx)
		}
		return nil
	}
	err = s.client.MakeBucket(ctx, s.ep.bucket, minio.MakeBucketOptions{Region: s.region, ObjectLocking: s.objectLock})
	var resp minio.ErrorResponse
	if errors.As(err, &resp) && resp.Code == "BucketAlreadyOwnedByYou" {
		return nil // made meanwhile by another client of ours
	}
	if err != nil {
		return fmt.Errorf("make bucket %s: %w", s.ep.bucket, s.translate(ctx, err, h))
	}
	return nil
}

// Open opens the repository at location. Without a config (or without the bucket)
// there is no repository: it fails wrapping remote.ErrNotFound.
func Open(ctx context.Context, location string, opts Options) (*Store, error) {
	s, err := New(location, opts)
	if err != nil {
		return nil, err
	}
	_, err = s.Stat(ctx, remote.Handle{Type: remote.Config})
	if errors.Is(err, remote.ErrNoBucket) {
		err = fmt.Errorf("%w: %w", remote.ErrNotFound, err)
	}
	if err != nil {
		s.Close()
		return nil, fmt.Errorf("open %s: %w", s.ep, err)
	}
	return s, nil
}

// Location returns the canonical location, which never holds credentials.
func (s *Store) Location() string { return s.ep.String() }

// Close drops idle connections, and tells Options.OnRegion the region learnt.
func (s *Store) Close() error {
	if s.onRegion != nil && s.answered.Load() {
		// Answered from minio-go's cache: the location was asked before the first
		// request, and only an answered one counts.
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		if r, err := s.client.GetBucketLocation(ctx, s.ep.bucket); err == nil && r != "" {
			s.onRegion(r)
		}
		cancel()
	}
	s.transport.CloseIdleConnections()
	return nil
}

// check validates h and ctx, the preamble of every method.
func (s *Store) check(ctx context.Context, h remote.Handle) error {
	if err := h.Validate(); err != nil {
		return err
	}
	return ctx.Err()
}

// key is the object key of a validated handle.
func (s *Store) key(h remote.Handle) string {
	switch h.Type {
	case remote.Config:
		return s.ep.prefix + string(remote.Config)
	case remote.Data:
		return s.ep.prefix + path.Join(string(remote.Data), h.Name[:2], h.Name)
	default:
		return s.ep.prefix + path.Join(string(h.Type), h.Name)
	}
}
