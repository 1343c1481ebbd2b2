package s3

import (
	"errors"
	"fmt"
	"net/url"
	"os"
	"strings"

	"github.com/minio/minio-go/v7/pkg/s3utils"
)

// awsEndpoint serves the s3:bucket form of location.
const awsEndpoint = "s3.amazonaws.com"

// endpoint is a parsed repository location.
type endpoint struct {
	host   string // host[:port]
	secure bool
	aws    bool // the s3:bucket form: AWS, virtual-host style
	bucket string
	prefix string // "" or "some/path/"
}

// parseLocation reads s3:http[s]://host[:port]/bucket[/prefix] (any S3-compatible
// server, path-style), restic's s3:host[:port]/bucket[/prefix] (https, as restic; a
// host is a first component with a dot or a port, or localhost), or
// s3:bucket[/prefix] (AWS). Errors never quote the location: it might hold
// credentials the user pasted into it.
func parseLocation(loc string) (endpoint, error) {
	rest, ok := strings.CutPrefix(loc, "s3:")
	if !ok {
		return endpoint{}, errors.New("s3 location must start with s3:")
	}
	if strings.HasPrefix(rest, "http://") || strings.HasPrefix(rest, "https://") {
		return parseURL(rest)
	}
	if strings.Contains(rest, "://") {
		return endpoint{}, errors.New("s3 location: the scheme must be http or https")
	}
	first, path, _ := strings.Cut(rest, "/")
	if isHost(first) {
		if strings.Contains(first, "@") {
			return endpoint{}, errCredentials
		}
		bucket, prefix, _ := strings.Cut(path, "/")
		return finish(endpoint{host: first, secure: true, aws: isAWSHost(first)}, bucket, prefix)
	}
	return finish(endpoint{host: awsEndpoint, secure: true, aws: true}, first, path)
}

// isHost tells restic's s3:host/bucket form from cairn's s3:bucket: bucket names have
// neither a port nor (in the short form) a dot. A bucket whose name has dots is
// written s3:s3.amazonaws.com/my.bucket.
func isHost(first string) bool {
	return strings.ContainsAny(first, ".:@") || first == "localhost"
}

// isAWSHost reports whether host is one of AWS's S3 endpoints (s3.amazonaws.com,
// s3.eu-west-1.amazonaws.com, …), which are addressed as AWS is.
func isAWSHost(host string) bool {
	h := strings.ToLower(host)
	if i := strings.LastIndexByte(h, ':'); i >= 0 {
		h = h[:i]
	}
	return h == awsEndpoint || (strings.HasPrefix(h, "s3") && strings.HasSuffix(h, ".amazonaws.com"))
}

var errCredentials = errors.New("s3 location: credentials do not belong in the location " +
	"(use AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or AWS_PROFILE)")

func parseURL(raw string) (endpoint, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return endpoint{}, errors.New("s3 location: not a valid URL")
	}
	if u.User != nil {
		return endpoint{}, errCredentials
	}
	if u.RawQuery != "" || u.Fragment != "" || u.Host == "" {
		return endpoint{}, errors.New("s3 location: want s3:http[s]://host[:port]/bucket[/prefix]")
	}
	bucket, prefix, _ := strings.Cut(strings.TrimPrefix(u.Path, "/"), "/")
	return finish(endpoint{host: u.Host, secure: u.Scheme == "https"}, bucket, prefix)
}

// finish checks the bucket name and the prefix, and normalises the prefix to end
// with a slash.
func finish(e endpoint, bucket, prefix string) (endpoint, error) {
	if bucket == "" {
		return endpoint{}, errors.New("s3 location: no bucket given")
	}
	if err := s3utils.CheckValidBucketNameStrict(bucket); err != nil {
		return endpoint{}, fmt.Errorf("s3 location: bucket %q: %w", bucket, err)
	}
	prefix = strings.TrimSuffix(prefix, "/")
	if prefix != "" {
		for _, part := range strings.Split(prefix, "/") {
			if part == "" || part == "." || part == ".." {
				return endpoint{}, fmt.Errorf("s3 location: bad prefix %q", prefix)
			}
		}
		prefix += "/"
	}
	e.bucket, e.prefix = bucket, prefix
	return e, nil
}

// String is the location in canonical form, without credentials (it never has any).
func (e endpoint) String() string {
	path := e.bucket
	if e.prefix != "" {
		path += "/" + strings.TrimSuffix(e.prefix, "/")
	}
	if e.aws && e.host == awsEndpoint {
		return "s3:" + path
	}
	scheme := "http"
	if e.secure {
		scheme = "https"
	}
	return "s3:" + scheme + "://" + e.host + "/" + path
}

// region is the bucket's region: the option, else for AWS the usual variables. Empty
// lets minio-go ask the server.
func (e endpoint) region(opt string) string {
	if opt != "" || !e.aws {
		return opt
	}
	if r := os.Getenv("AWS_REGION"); r != "" {
		return r
	}
	return os.Getenv("AWS_DEFAULT_REGION")
}
