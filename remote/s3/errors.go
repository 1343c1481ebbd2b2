package s3

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/minio/minio-go/v7"

	"github.com/cairn-backup/cairn/remote"
)

// classified is an S3 or TLS error translated into a remote sentinel. It prints its
// own message; errors.Is finds both the sentinel and the original error.
type classified struct {
	msg  string
	kind error
	err  error
}

func (e *classified) Error() string   { return e.msg }
func (e *classified) Unwrap() []error { return []error{e.kind, e.err} }

// retryAfterError carries the wait a server asked for (Retry-After). The retry
// decorator looks for the RetryAfter method, so it needs no import of this package.
type retryAfterError struct {
	error
	after time.Duration
}

func (e *retryAfterError) Unwrap() error             { return e.error }
func (e *retryAfterError) RetryAfter() time.Duration { return e.after }

// S3 error codes by meaning. Classification goes by code and HTTP status only.
var (
	codeKinds = map[string]error{
		"NoSuchKey":                      remote.ErrNotFound,
		"NoSuchBucket":                   remote.ErrNoBucket,
		"InvalidRange":                   remote.ErrInvalidRange,
		"AccessDenied":                   remote.ErrPermission,
		"AllAccessDisabled":              remote.ErrPermission,
		"AccountProblem":                 remote.ErrPermission,
		"InvalidAccessKeyId":             remote.ErrPermission,
		"SignatureDoesNotMatch":          remote.ErrPermission,
		"XMinioStorageFull":              remote.ErrFull,
		"XMinioAdminBucketQuotaExceeded": remote.ErrFull,
		"SlowDown":                       remote.ErrSlowDown,
		"SlowDownRead":                   remote.ErrSlowDown,
		"SlowDownWrite":                  remote.ErrSlowDown,
		"Throttling":                     remote.ErrSlowDown,
		"ThrottlingException":            remote.ErrSlowDown,
		"RequestLimitExceeded":           remote.ErrSlowDown,
		"RequestThrottled":               remote.ErrSlowDown,
		"TooManyRequests":                remote.ErrSlowDown,
	}
	statusKinds = map[int]error{
		http.StatusNotFound:                     remote.ErrNotFound,
		http.StatusRequestedRangeNotSatisfiable: remote.ErrInvalidRange,
		http.StatusForbidden:                    remote.ErrPermission,
		http.StatusInsufficientStorage:          remote.ErrFull,
		http.StatusServiceUnavailable:           remote.ErrSlowDown,
		http.StatusTooManyRequests:              remote.ErrSlowDown,
	}
)

// translate maps an error of minio-go to the remote sentinels at the boundary: the
// caller's cancellation, TLS failures, then S3 codes and statuses. Anything else is
// returned as it is, a transient error to callers.
func (s *Store) translate(ctx context.Context, err error, h *hint) error {
	if err == nil {
		return nil
	}
	if cerr := ctx.Err(); cerr != nil {
		return cerr
	}
	if terr := s.tlsError(err); terr != nil {
		return terr
	}
	if nerr := s.netError(err); nerr != nil {
		return nerr
	}
	var resp minio.ErrorResponse
	if !errors.As(err, &resp) {
		return err
	}
	note := ""
	if s.forget != nil && regionRefused(resp, s.region) {
		s.forget()
		note = fmt.Sprintf(" (the region %s remembered for this location is forgotten: the next run asks the server again)", s.region)
	}
	kind, ok := codeKinds[resp.Code]
	if !ok {
		kind, ok = statusKinds[resp.StatusCode]
	}
	if !ok {
		if note != "" {
			return fmt.Errorf("%w%s", err, note)
		}
		return err
	}
	out := error(&classified{msg: s.explain(kind, resp) + note, kind: kind, err: err})
	if after := h.retryAfter(); after > 0 {
		out = &retryAfterError{error: out, after: after}
	}
	return out
}

// regionRefused reports whether the server refused region as the bucket's: a signature
// scoped to the wrong region, or a redirect to the bucket's own.
func regionRefused(resp minio.ErrorResponse, region string) bool {
	switch resp.Code {
	case "AuthorizationHeaderMalformed", "PermanentRedirect", "IllegalLocationConstraintException", "InvalidRegion":
		return true
	}
	return resp.Region != "" && resp.Region != region
}

// explain says in one line what a classified S3 error means for the user.
func (s *Store) explain(kind error, resp minio.ErrorResponse) string {
	switch {
	case kind == remote.ErrPermission && s.creds != nil && s.creds.anonymous.Load():
		return "no S3 credentials found: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY " +
			"(or AWS_PROFILE with a shared credentials file)"
	case kind == remote.ErrNoBucket:
		return fmt.Sprintf("the bucket %q does not exist on %s", s.ep.bucket, s.ep.host)
	}
	return fmt.Sprintf("%v: %v", kind, resp)
}

// netError classifies the failures of the connection itself: nobody listening, a host
// name unknown (remote.ErrUnreachable, retried a few times only), or a server that
// answers https with plain http (remote.ErrTLS, not retried). Nil for anything else.
func (s *Store) netError(err error) error {
	var dns *net.DNSError
	var record tls.RecordHeaderError
	switch {
	case errors.Is(err, http.ErrSchemeMismatch),
		errors.As(err, &record) && strings.HasPrefix(string(record.RecordHeader[:]), "HTTP"):
		return tlsFailure(err, "the server at %s speaks plain http, not https: write the location as s3:http://%s/%s",
			s.ep.host, s.ep.host, strings.TrimSuffix(s.ep.bucket+"/"+s.ep.prefix, "/"))
	case errors.Is(err, syscall.ECONNREFUSED):
		return &classified{msg: fmt.Sprintf("connection to %s refused: is the S3 server running, and are "+
			"the host and port of the repository location right?", s.ep.host), kind: remote.ErrUnreachable, err: err}
	case errors.As(err, &dns) && dns.IsNotFound:
		return &classified{msg: fmt.Sprintf("host %s not found (DNS): check the repository location", dns.Name),
			kind: remote.ErrUnreachable, err: err}
	}
	return nil
}

// hint collects what the HTTP layer learns about one call and minio-go drops: the
// Retry-After of the last throttled response.
type hint struct {
	after atomic.Int64 // nanoseconds
}

type hintKey struct{}

// withHint returns a context whose requests record their hints in the returned hint.
func withHint(ctx context.Context) (context.Context, *hint) {
	h := new(hint)
	return context.WithValue(ctx, hintKey{}, h), h
}

func (h *hint) retryAfter() time.Duration {
	if h == nil {
		return 0
	}
	return time.Duration(h.after.Load())
}

// maxRetryAfter caps a server's wish; the retry budget caps it further.
const maxRetryAfter = time.Hour

// hintTransport records Retry-After of 503 and 429 answers into the request's hint.
type hintTransport struct {
	base     http.RoundTripper
	answered *atomic.Bool // set by any answer but a server error
}

func (t hintTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	resp, err := t.base.RoundTrip(req)
	if err == nil && resp.StatusCode < 500 && t.answered != nil {
		t.answered.Store(true)
	}
	if err != nil || (resp.StatusCode != http.StatusServiceUnavailable && resp.StatusCode != http.StatusTooManyRequests) {
		return resp, err
	}
	h, _ := req.Context().Value(hintKey{}).(*hint)
	if d, ok := parseRetryAfter(resp.Header.Get("Retry-After"), time.Now()); ok && h != nil {
		h.after.Store(int64(d))
	}
	return resp, nil
}

// parseRetryAfter reads seconds or an HTTP date.
func parseRetryAfter(v string, now time.Time) (time.Duration, bool) {
	if v == "" {
		return 0, false
	}
	var d time.Duration
	if secs, err := strconv.Atoi(v); err == nil {
		d = time.Duration(secs) * time.Second
	} else if at, err := http.ParseTime(v); err == nil {
		d = at.Sub(now)
	} else {
		return 0, false
	}
	if d <= 0 {
		return 0, false
	}
	return min(d, maxRetryAfter), true
}
