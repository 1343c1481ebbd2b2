package s3test

import (
	"fmt"
	"io"
	"net/http"
	"regexp"
	"strconv"
	"time"
)

// trickleBody passes a body on 4 KiB at a time with a pause before each piece: a slow
// link. Closing the proxy ends the pauses.
type trickleBody struct {
	rc    io.ReadCloser
	pause time.Duration
	stop  <-chan struct{}
}

func (b *trickleBody) Read(p []byte) (int, error) {
	t := time.NewTimer(b.pause)
	defer t.Stop()
	select {
	case <-t.C:
	case <-b.stop:
		return 0, errCut
	}
	return b.rc.Read(p[:min(len(p), 4<<10)])
}

func (b *trickleBody) Close() error { return b.rc.Close() }

// shortRange turns a 206 answer into one for the first half of the range asked,
// headers and all (Content-Length, Content-Range): a server that sends less than the
// range and says so. A client that does not count what it asked for takes it.
func shortRange(resp *http.Response) error {
	var first, last, total int64
	if _, err := fmt.Sscanf(resp.Header.Get("Content-Range"), "bytes %d-%d/%d", &first, &last, &total); err != nil {
		return fmt.Errorf("short range: content range %q: %w", resp.Header.Get("Content-Range"), err)
	}
	keep := resp.ContentLength / 2
	resp.Body = struct {
		io.Reader
		io.Closer
	}{io.LimitReader(resp.Body, keep), resp.Body}
	resp.ContentLength = keep
	resp.Header.Set("Content-Length", strconv.FormatInt(keep, 10))
	resp.Header.Set("Content-Range", fmt.Sprintf("bytes %d-%d/%d", first, first+keep-1, total))
	return nil
}

var lastModifiedRE = regexp.MustCompile(`<LastModified>([^<]*)</LastModified>`)

// staleListing leaves out of a ListObjectsV2 page the objects modified after since:
// a listing that does not show recent writes yet, as an eventually consistent store's
// may. The rest of the page, and its continuation, are left as they are.
func staleListing(body []byte, since time.Time) []byte {
	body = contentsRE.ReplaceAllFunc(body, func(m []byte) []byte {
		sub := lastModifiedRE.FindSubmatch(m)
		if sub == nil {
			return m
		}
		at, err := time.Parse(time.RFC3339Nano, string(sub[1]))
		if err == nil && at.After(since) {
			return nil
		}
		return m
	})
	return body
}
