package s3

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"sync/atomic"
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
	var resp minio.ErrorResponse
	if !errors.As(err, &resp) {
		return err
	}
	kind, ok := codeKinds[resp.Code]
	if !ok {
		kind, ok = statusKinds[resp.StatusCode]
	}
	if !ok {
		return err
	}
	out := error(&classified{msg: fmt.Sprintf("%v: %v", kind, resp), kind: kind, err: err})
	if after := h.retryAfter(); after > 0 {
		out = &retryAfterError{error: out, after: after}
	}
	return out
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
	base http.RoundTripper
}

func (t hintTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	resp, err := t.base.RoundTrip(req)
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
