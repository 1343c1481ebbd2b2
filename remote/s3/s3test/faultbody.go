package s3test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"
)

// maxFaultBody bounds what a listing or PrefixPut fault reads into memory.
const maxFaultBody = 64 << 20

// errCut ends a truncated body; the proxy then drops the connection.
var errCut = errors.New("body cut by fault proxy")

// modify applies a body or listing fault to the upstream's answer.
func (p *FaultProxy) modify(resp *http.Response) error {
	k, ok := resp.Request.Context().Value(faultKey{}).(Kind)
	if !ok {
		return nil
	}
	ok2xx := resp.StatusCode == http.StatusOK || resp.StatusCode == http.StatusPartialContent
	switch {
	case (k == Truncate || k == Flip) && ok2xx && resp.ContentLength > 0:
		resp.Body = &faultBody{rc: resp.Body, at: p.pick.intn(resp.ContentLength), cut: k == Truncate}
	case k == Trickle && ok2xx && resp.ContentLength > 0:
		resp.Body = &trickleBody{rc: resp.Body, pause: p.pick.cfg.Trickle, stop: p.stop}
	case k == ShortRange && resp.StatusCode == http.StatusPartialContent && resp.ContentLength > 1:
		return shortRange(resp)
	case (k == EmptyList || k == ShortList || k == StaleList) && resp.StatusCode == http.StatusOK:
		body, err := io.ReadAll(io.LimitReader(resp.Body, maxFaultBody))
		resp.Body.Close()
		if err != nil {
			return err
		}
		if k == StaleList {
			body = staleListing(body, time.Now().Add(-p.pick.cfg.Stale))
		} else {
			body = cutListing(body, k == EmptyList)
		}
		resp.Body = io.NopCloser(bytes.NewReader(body))
		resp.ContentLength = int64(len(body))
		resp.Header.Set("Content-Length", strconv.Itoa(len(body)))
	default:
		p.pick.unfire(k) // nothing to act on: an error answer or an empty body
	}
	return nil
}

// faultBody passes a body through up to byte at, then either stops with an error
// (cut) or inverts that byte and goes on.
type faultBody struct {
	rc  io.ReadCloser
	at  int64
	cut bool
	off int64
}

func (b *faultBody) Read(p []byte) (int, error) {
	if b.cut && b.off >= b.at {
		return 0, errCut
	}
	if b.cut && int64(len(p)) > b.at-b.off {
		p = p[:b.at-b.off]
	}
	n, err := b.rc.Read(p)
	if !b.cut && b.at >= b.off && b.at < b.off+int64(n) {
		p[b.at-b.off] ^= 0xff
	}
	b.off += int64(n)
	return n, err
}

func (b *faultBody) Close() error { return b.rc.Close() }

var (
	contentsRE  = regexp.MustCompile(`(?s)<Contents>.*?</Contents>`)
	truncatedRE = regexp.MustCompile(`<IsTruncated>true</IsTruncated>`)
	tokenRE     = regexp.MustCompile(`(?s)<NextContinuationToken>.*?</NextContinuationToken>`)
)

// cutListing drops all objects of a ListObjectsV2 page, or the second half of them,
// and claims the page is the last: a listing that lies by omission.
func cutListing(body []byte, all bool) []byte {
	n := len(contentsRE.FindAllIndex(body, -1))
	keep := 0
	if !all {
		keep = n / 2
	}
	seen := 0
	body = contentsRE.ReplaceAllFunc(body, func(m []byte) []byte {
		seen++
		if seen <= keep {
			return m
		}
		return nil
	})
	body = truncatedRE.ReplaceAll(body, []byte("<IsTruncated>false</IsTruncated>"))
	return tokenRE.ReplaceAll(body, nil)
}

// prefixWriter stores a prefix of a PUT's body under the PUT's key, with its own
// credentials: the client's signature covers the whole body, so the request itself
// cannot be forwarded cut short.
type prefixWriter struct {
	client *minio.Core
}

func newPrefixWriter(cfg Config, host string) (*prefixWriter, error) {
	c, err := minio.NewCore(host, &minio.Options{
		Creds:        credentials.NewStaticV4(cfg.AccessKey, cfg.SecretKey, ""),
		BucketLookup: minio.BucketLookupPath,
		Region:       "us-east-1",
	})
	if err != nil {
		return nil, err
	}
	return &prefixWriter{client: c}, nil
}

// store reads the request body and stores a random prefix of it (shorter than the
// body whenever the body is not empty), with the request's user metadata.
func (w *prefixWriter) store(r *http.Request, intn func(int64) int64) error {
	body, err := io.ReadAll(io.LimitReader(r.Body, maxFaultBody))
	if err != nil {
		return err
	}
	keep := int64(0)
	if len(body) > 1 {
		keep = intn(int64(len(body)))
	}
	bucket, key, _ := strings.Cut(strings.TrimPrefix(r.URL.Path, "/"), "/")
	meta := make(map[string]string)
	for name, v := range r.Header {
		if rest, ok := strings.CutPrefix(strings.ToLower(name), "x-amz-meta-"); ok && len(v) > 0 {
			meta[rest] = v[0]
		}
	}
	ctx, cancel := context.WithCancel(r.Context())
	defer cancel()
	_, err = w.client.PutObject(ctx, bucket, key, bytes.NewReader(body[:keep]), keep, "", "",
		minio.PutObjectOptions{UserMetadata: meta})
	if err != nil {
		return fmt.Errorf("store prefix of %s: %w", key, err)
	}
	return nil
}
