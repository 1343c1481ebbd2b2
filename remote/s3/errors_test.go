package s3

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/minio/minio-go/v7"

	"github.com/cairn-backup/cairn/remote"
)

func TestTranslate(t *testing.T) {
	s := &Store{}
	for _, tc := range []struct {
		resp minio.ErrorResponse
		want error
	}{
		{minio.ErrorResponse{Code: "NoSuchKey", StatusCode: 404}, remote.ErrNotFound},
		{minio.ErrorResponse{Code: "NoSuchBucket", StatusCode: 404}, remote.ErrNoBucket},
		{minio.ErrorResponse{Code: "InvalidRange", StatusCode: 416}, remote.ErrInvalidRange},
		{minio.ErrorResponse{Code: "AccessDenied", StatusCode: 403}, remote.ErrPermission},
		{minio.ErrorResponse{Code: "InvalidAccessKeyId", StatusCode: 403}, remote.ErrPermission},
		{minio.ErrorResponse{Code: "XMinioStorageFull", StatusCode: 507}, remote.ErrFull},
		{minio.ErrorResponse{Code: "507 Insufficient Storage", StatusCode: 507}, remote.ErrFull},
		{minio.ErrorResponse{Code: "SlowDown", StatusCode: 503}, remote.ErrSlowDown},
		{minio.ErrorResponse{Code: "503 Service Unavailable", StatusCode: 503}, remote.ErrSlowDown},
		{minio.ErrorResponse{Code: "TooManyRequests", StatusCode: 429}, remote.ErrSlowDown},
		{minio.ErrorResponse{Code: "InternalError", StatusCode: 500}, nil},
	} {
		in := fmt.Errorf("wrapped: %w", tc.resp)
		got := s.translate(context.Background(), in, nil)
		if tc.want == nil {
			if got != in {
				t.Errorf("%s: got %v, want the error unchanged", tc.resp.Code, got)
			}
			continue
		}
		if !errors.Is(got, tc.want) || !errors.As(got, new(minio.ErrorResponse)) {
			t.Errorf("%s: got %v, want %v keeping the original", tc.resp.Code, got, tc.want)
		}
	}
}

func TestTranslateCancelled(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	err := (&Store{}).translate(ctx, errors.New("Get: context canceled, somewhere deep"), nil)
	if !errors.Is(err, context.Canceled) {
		t.Errorf("got %v, want context.Canceled", err)
	}
}

func TestTranslateRetryAfter(t *testing.T) {
	_, h := withHint(context.Background())
	h.after.Store(int64(3 * time.Second))
	err := (&Store{}).translate(context.Background(), minio.ErrorResponse{Code: "SlowDown", StatusCode: 503}, h)
	var ra interface{ RetryAfter() time.Duration }
	if !errors.As(err, &ra) || ra.RetryAfter() != 3*time.Second || !errors.Is(err, remote.ErrSlowDown) {
		t.Errorf("got %v, want SlowDown carrying a wait of 3s", err)
	}
}

func TestParseRetryAfter(t *testing.T) {
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	for _, tc := range []struct {
		in   string
		want time.Duration
		ok   bool
	}{
		{"", 0, false}, {"7", 7 * time.Second, true}, {"0", 0, false}, {"-3", 0, false}, {"soon", 0, false},
		{now.Add(90 * time.Second).Format(http.TimeFormat), 90 * time.Second, true},
		{now.Add(-time.Minute).Format(http.TimeFormat), 0, false},
		{"999999", maxRetryAfter, true},
	} {
		got, ok := parseRetryAfter(tc.in, now)
		if got != tc.want || ok != tc.ok {
			t.Errorf("parse %q: got %v %v, want %v %v", tc.in, got, ok, tc.want, tc.ok)
		}
	}
}

func TestExpect(t *testing.T) {
	for _, tc := range []struct {
		contentRange         string
		size, offset, length int64
		ranged               bool
		skip, want           int64
		err                  error // nil: ok; errAny: some error
	}{
		{"", 100, 0, 0, false, 0, 100, nil},
		{"bytes 10-19/100", 10, 10, 10, true, 0, 10, nil},
		{"bytes 90-99/100", 10, 90, 20, true, 0, 0, remote.ErrInvalidRange}, // ends past the end
		{"bytes 10-99/100", 90, 10, 0, true, 0, 90, nil},
		{"bytes 11-20/100", 10, 10, 10, true, 0, 0, errAny},   // wrong start
		{"bytes 10-19/100", 5, 10, 10, true, 0, 0, errAny},    // length disagrees
		{"", 100, 10, 20, true, 10, 20, nil},                  // range ignored: skip
		{"", 100, 90, 20, true, 0, 0, remote.ErrInvalidRange}, // range ignored, past end
		{"", 100, 10, 0, true, 10, 90, nil},
	} {
		skip, want, err := expect(tc.contentRange, tc.size, tc.offset, tc.length, tc.ranged)
		switch {
		case tc.err == nil && (err != nil || skip != tc.skip || want != tc.want):
			t.Errorf("%+v: got %d %d %v", tc, skip, want, err)
		case tc.err == errAny && err == nil, tc.err != nil && tc.err != errAny && !errors.Is(err, tc.err):
			t.Errorf("%+v: got %v, want %v", tc, err, tc.err)
		}
	}
}

var errAny = errors.New("any error")

// TestTranslateForgetsRefusedRegion: a region passed in (remembered from an earlier
// run) that the server refuses is forgotten, so that the next run asks again; other
// errors keep it.
func TestTranslateForgetsRefusedRegion(t *testing.T) {
	for _, tc := range []struct {
		resp   minio.ErrorResponse
		forget bool
	}{
		{minio.ErrorResponse{Code: "AuthorizationHeaderMalformed", StatusCode: 400, Region: "eu-west-1"}, true},
		{minio.ErrorResponse{Code: "PermanentRedirect", StatusCode: 301}, true},
		{minio.ErrorResponse{Code: "AccessDenied", StatusCode: 403, Region: "eu-west-1"}, true},
		{minio.ErrorResponse{Code: "AccessDenied", StatusCode: 403, Region: "us-east-1"}, false},
		{minio.ErrorResponse{Code: "NoSuchKey", StatusCode: 404}, false},
	} {
		forgot := false
		s := &Store{region: "us-east-1", forget: func() { forgot = true }}
		err := s.translate(context.Background(), tc.resp, nil)
		if forgot != tc.forget {
			t.Errorf("%s (region %q): forgot %v, want %v", tc.resp.Code, tc.resp.Region, forgot, tc.forget)
		}
		if tc.forget && !strings.Contains(err.Error(), "forgotten") {
			t.Errorf("%s: %v does not say the region is forgotten", tc.resp.Code, err)
		}
	}
}
