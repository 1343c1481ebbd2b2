package monitor

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"
)

// MaxPingBody bounds what a ping sends: the tail of the log on failure, the summary
// on success. healthchecks.io keeps 100 KB of a ping body by default; 10 KB is the
// screen a person reads.
const MaxPingBody = 10 << 10

// Pinger sends the health-check pings of one job, in the healthchecks.io
// convention: URL/start when the job starts, URL on success, URL/fail on failure,
// each a POST whose body is shown on the check's page. An Uptime Kuma push URL (its
// path holds /api/push/) is spoken to in its own convention instead: no start ping,
// GET URL?status=up or ?status=down&msg=…. A ping never fails the job: a miss is
// returned as an error for the job to report.
type Pinger struct {
	URL      string        // the check's ping URL; it may hold a secret token
	Timeout  time.Duration // per attempt (default 10s)
	Attempts int           // tries per ping (default 3)
	Backoff  time.Duration // wait before the second try, doubled after (default 1s)
	Client   *http.Client  // default: a client with no timeout of its own
}

// NewPinger returns a Pinger for url with the defaults.
func NewPinger(url string) *Pinger { return &Pinger{URL: url} }

// Start pings URL/start: the check measures the run's duration from it.
func (p *Pinger) Start(ctx context.Context) error {
	if isKuma(p.URL) {
		return nil // a push monitor has no start
	}
	return p.send(ctx, "/start", nil)
}

// Success pings URL with a short summary as the body.
func (p *Pinger) Success(ctx context.Context, summary string) error {
	if isKuma(p.URL) {
		return p.push(ctx, "up", firstLine(summary))
	}
	return p.send(ctx, "", Tail([]byte(summary), MaxPingBody))
}

// Fail pings URL/fail with the last lines of the log as the body.
func (p *Pinger) Fail(ctx context.Context, log []byte) error {
	if isKuma(p.URL) {
		return p.push(ctx, "down", lastLine(log))
	}
	return p.send(ctx, "/fail", Tail(log, MaxPingBody))
}

// send posts body to URL+suffix, retrying network errors and 5xx answers.
func (p *Pinger) send(ctx context.Context, suffix string, body []byte) error {
	target, err := withSuffix(p.URL, suffix)
	if err != nil {
		return err
	}
	return p.try(ctx, http.MethodPost, target, body)
}

// push is an Uptime Kuma push: GET URL?status=…&msg=….
func (p *Pinger) push(ctx context.Context, status, msg string) error {
	u, err := url.Parse(p.URL)
	if err != nil {
		return fmt.Errorf("ping URL %s: not an http(s) URL", Redact(p.URL))
	}
	q := u.Query()
	q.Set("status", status)
	q.Set("msg", msg)
	u.RawQuery = q.Encode()
	return p.try(ctx, http.MethodGet, u.String(), nil)
}

// try makes up to Attempts requests, retrying network errors and 5xx answers.
func (p *Pinger) try(ctx context.Context, method, target string, body []byte) error {
	shown := Redact(target)
	attempts, backoff := max(p.Attempts, 1), p.Backoff
	if p.Attempts == 0 {
		attempts = 3
	}
	if backoff == 0 {
		backoff = time.Second
	}
	var last error
	for i := range attempts {
		if i > 0 {
			select {
			case <-ctx.Done():
				return fmt.Errorf("ping %s: %w (after %v)", shown, ctx.Err(), last)
			case <-time.After(backoff << (i - 1)):
			}
		}
		retry, err := p.do(ctx, method, target, body)
		if err == nil {
			return nil
		}
		last = err
		if !retry {
			break
		}
	}
	return fmt.Errorf("ping %s: %w", shown, last)
}

// do makes one attempt; it reports whether another attempt may succeed. Its errors
// never hold the URL (a *url.Error would print the token).
func (p *Pinger) do(ctx context.Context, method, target string, body []byte) (retry bool, err error) {
	timeout := p.Timeout
	if timeout == 0 {
		timeout = 10 * time.Second
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	u, err := url.Parse(target)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return false, errors.New("not an http(s) URL")
	}
	req, err := http.NewRequestWithContext(ctx, method, target, bytes.NewReader(body))
	if err != nil {
		return false, errors.New("invalid ping URL")
	}
	req.Header.Set("Content-Type", "text/plain; charset=utf-8")
	req.Header.Set("User-Agent", "cairn")
	client := p.Client
	if client == nil {
		client = http.DefaultClient
	}
	resp, err := client.Do(req)
	if err != nil {
		var uerr *url.Error
		if errors.As(err, &uerr) {
			err = uerr.Err
		}
		return true, err
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	resp.Body.Close()
	if resp.StatusCode >= 200 && resp.StatusCode < 300 {
		return false, nil
	}
	return resp.StatusCode >= 500 || resp.StatusCode == http.StatusTooManyRequests,
		fmt.Errorf("server answered %s", resp.Status)
}

// withSuffix appends suffix to the URL's path, leaving its query alone.
func withSuffix(raw, suffix string) (string, error) {
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return "", fmt.Errorf("ping URL %s: not an http(s) URL", Redact(raw))
	}
	u.Path = strings.TrimSuffix(u.Path, "/") + suffix
	u.RawPath = ""
	return u.String(), nil
}

// Redact returns the URL fit for a log: scheme and host, with the path (where ping
// URLs hold their token, check id or ping key and slug), query and user replaced by
// "…". A /start or /fail suffix stays visible.
func Redact(raw string) string {
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" {
		return "…"
	}
	s := u.Scheme + "://" + u.Host
	path := strings.TrimSuffix(u.Path, "/")
	suffix := ""
	for _, sfx := range []string{"/start", "/fail"} {
		if strings.HasSuffix(path, sfx) && len(path) > len(sfx) {
			path, suffix = strings.TrimSuffix(path, sfx), sfx
		}
	}
	if path != "" || u.RawQuery != "" || u.User != nil {
		s += "/…"
	}
	return s + suffix
}

// Tail returns at most n bytes from the end of b, starting after a line break when
// one falls in the first half of what is kept, so the body starts with a whole line.
func Tail(b []byte, n int) []byte {
	if len(b) <= n {
		return b
	}
	t := b[len(b)-n:]
	if i := bytes.IndexByte(t, '\n'); i >= 0 && i < n/2 {
		t = t[i+1:]
	}
	return t
}

// isKuma reports whether the URL is an Uptime Kuma push URL.
func isKuma(raw string) bool {
	u, err := url.Parse(raw)
	return err == nil && strings.Contains(u.Path, "/api/push/")
}

// firstLine and lastLine pick the line a push message carries (at most 200 bytes).
func firstLine(s string) string {
	s, _, _ = strings.Cut(strings.TrimSpace(s), "\n")
	return s[:min(len(s), 200)]
}

func lastLine(b []byte) string {
	s := strings.TrimSpace(string(Tail(b, 4096)))
	if i := strings.LastIndexByte(s, '\n'); i >= 0 {
		s = s[i+1:]
	}
	return s[:min(len(s), 200)]
}

// TailWriter keeps the last Max bytes written to it (MaxPingBody when 0): put it
// beside the job's stderr, and Fail sends what it holds. Hooks' output may be copied
// into it from several goroutines at once.
type TailWriter struct {
	Max int
	mu  sync.Mutex
	buf []byte
}

// Write keeps the end of p; it never fails.
func (w *TailWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	limit := w.Max
	if limit <= 0 {
		limit = MaxPingBody
	}
	w.buf = append(w.buf, p...)
	if len(w.buf) > 2*limit { // trim now and then, not on every write
		w.buf = append(w.buf[:0], w.buf[len(w.buf)-limit:]...)
	}
	return len(p), nil
}

// Bytes returns a copy of the last Max bytes written.
func (w *TailWriter) Bytes() []byte {
	w.mu.Lock()
	defer w.mu.Unlock()
	limit := w.Max
	if limit <= 0 {
		limit = MaxPingBody
	}
	return bytes.Clone(Tail(w.buf, limit))
}
