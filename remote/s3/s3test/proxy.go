package s3test

import (
	"context"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httputil"
	"sync"
	"time"

	"golang.org/x/sync/errgroup"
)

// FaultProxy forwards S3 requests from 127.0.0.1 to a server on 127.0.0.1 and breaks
// some of them: at random with a seeded generator and a rate, or as scripted. It
// counts every request by kind.
type FaultProxy struct {
	URL string // http://127.0.0.1:PORT, the endpoint to give the client

	pick      *picker
	fwd       *httputil.ReverseProxy
	transport *http.Transport
	prefix    *prefixWriter // nil without credentials
	stop      chan struct{} // closed by Close: ends hangs at once
	closeOnce sync.Once
	closeErr  error
	srv       *http.Server
	g         errgroup.Group
}

// faultKey carries a body fault from ServeHTTP to the response rewriting.
type faultKey struct{}

// StartFaultProxy listens on a free port of 127.0.0.1 and serves until Close.
func StartFaultProxy(ctx context.Context, cfg Config) (*FaultProxy, error) {
	target, err := loopbackURL(cfg.Upstream)
	if err != nil {
		return nil, fmt.Errorf("start fault proxy: %w", err)
	}
	var lc net.ListenConfig
	l, err := lc.Listen(ctx, "tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("start fault proxy: %w", err)
	}
	if cfg.CountOnly {
		cfg.Rate = 0
	}
	p := &FaultProxy{
		URL:       "http://" + l.Addr().String(),
		pick:      newPicker(cfg),
		transport: &http.Transport{MaxIdleConnsPerHost: 64, DisableCompression: true},
		stop:      make(chan struct{}),
	}
	if cfg.AccessKey != "" {
		if p.prefix, err = newPrefixWriter(cfg, target.Host); err != nil {
			l.Close()
			return nil, fmt.Errorf("start fault proxy: %w", err)
		}
	}
	p.fwd = forwarder(target, p.transport)
	p.fwd.ModifyResponse = p.modify
	p.fwd.FlushInterval = -1 // send what a Truncate fault lets through before the cut
	if cfg.CountOnly {
		p.fwd.FlushInterval = 0
		p.fwd.BufferPool = bufferPool{}
	}
	p.srv = &http.Server{Handler: p, ReadHeaderTimeout: 10 * time.Second}
	p.g.Go(func() error { return serve(p.srv, l) })
	return p, nil
}

// Script makes the next request of op fail with k, ahead of any random fault.
func (p *FaultProxy) Script(op Op, k Kind) {
	if p.pick.cfg.CountOnly {
		panic("s3test: Script on a CountOnly proxy")
	}
	p.pick.script(op, k)
}

// ScriptList makes the next n listings of keys under the prefix under (a bucket's
// folder, such as "repo/data/") fail with k, ahead of any other fault.
func (p *FaultProxy) ScriptList(under string, k Kind, n int) {
	if p.pick.cfg.CountOnly {
		panic("s3test: ScriptList on a CountOnly proxy")
	}
	p.pick.scriptList(OpList, under, k, n)
}

// ScriptKey makes the next n requests of op (a GET, PUT, HEAD or DELETE) on keys under
// the prefix under (such as "repo/config" or "repo/data/") fail with k, ahead of any
// other fault.
func (p *FaultProxy) ScriptKey(op Op, under string, k Kind, n int) {
	if p.pick.cfg.CountOnly {
		panic("s3test: ScriptKey on a CountOnly proxy")
	}
	p.pick.scriptList(op, under, k, n)
}

// EndScripts drops the faults scripted by ScriptList and ScriptKey that have not fired yet.
func (p *FaultProxy) EndScripts() {
	p.pick.mu.Lock()
	defer p.pick.mu.Unlock()
	p.pick.lists = nil
}

// bufferPool lends the 256 KiB buffers a CountOnly proxy copies bodies through.
type bufferPool struct{}

var copyBuffers = sync.Pool{New: func() any { b := make([]byte, 256<<10); return &b }}

func (bufferPool) Get() []byte  { return *copyBuffers.Get().(*[]byte) }
func (bufferPool) Put(b []byte) { copyBuffers.Put(&b) }

// Counts returns the requests and faults so far.
func (p *FaultProxy) Counts() Counts {
	p.pick.mu.Lock()
	defer p.pick.mu.Unlock()
	return p.pick.counts
}

// Fired returns how often faults of kind k fired.
func (p *FaultProxy) Fired(k Kind) int {
	p.pick.mu.Lock()
	defer p.pick.mu.Unlock()
	return p.pick.fired[k]
}

// Close stops the proxy; hangs in progress end at once. Later calls do nothing.
func (p *FaultProxy) Close() error {
	p.closeOnce.Do(func() {
		close(p.stop)
		p.closeErr = shutdown(p.srv, &p.g)
		p.transport.CloseIdleConnections()
	})
	return p.closeErr
}

// ServeHTTP applies the request's fault, if any, or forwards it.
func (p *FaultProxy) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	op := classify(r)
	if cfg := &p.pick.cfg; cfg.Delay > 0 || cfg.Trace != nil {
		start := time.Now()
		if cfg.Delay > 0 && !p.wait(r.Context(), cfg.Delay) {
			reset(w)
			return
		}
		if cfg.Trace != nil {
			defer func() { cfg.Trace(op, r.URL.RequestURI(), start, time.Now()) }()
		}
	}
	k, ok := p.pick.pick(op, r)
	if !ok {
		p.fwd.ServeHTTP(w, r)
		return
	}
	switch k {
	case SlowDown:
		w.Header().Set("Retry-After", fmt.Sprint(p.pick.cfg.RetryAfter))
		writeError(w, r, http.StatusServiceUnavailable, "SlowDown", "Please reduce your request rate.")
	case ServerError:
		writeError(w, r, http.StatusInternalServerError, "InternalError", "We encountered an internal error.")
	case NotFound:
		writeError(w, r, http.StatusNotFound, "NoSuchKey", "The specified key does not exist.")
	case Hang:
		p.hang(r.Context())
		reset(w)
	case Reset:
		reset(w)
	case LiePut:
		_, _ = io.Copy(io.Discard, r.Body)
		lieStored(w, r)
	case PrefixPut:
		if err := p.prefix.store(r, p.pick.intn); err != nil {
			writeError(w, r, http.StatusInternalServerError, "InternalError", err.Error())
			return
		}
		lieStored(w, r)
	default: // body and listing faults act on the upstream's answer
		p.fwd.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), faultKey{}, k)))
	}
}

// wait sleeps for d; false means the client or the proxy quit first.
func (p *FaultProxy) wait(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
	case <-p.stop:
	}
	return false
}

// hang waits out the configured stall, or less if the client or the proxy quits.
func (p *FaultProxy) hang(ctx context.Context) {
	t := time.NewTimer(p.pick.cfg.Hang)
	defer t.Stop()
	select {
	case <-t.C:
	case <-ctx.Done():
	case <-p.stop:
	}
}

// writeError answers like S3 does: an XML error body, and for HEAD (which has no
// body) MinIO's error code header.
func writeError(w http.ResponseWriter, r *http.Request, status int, code, msg string) {
	_, _ = io.Copy(io.Discard, r.Body)
	w.Header().Set("x-minio-error-code", code)
	w.Header().Set("Content-Type", "application/xml")
	w.WriteHeader(status)
	if r.Method != http.MethodHead {
		fmt.Fprintf(w, `<?xml version="1.0" encoding="UTF-8"?><Error><Code>%s</Code><Message>%s</Message></Error>`, code, msg)
	}
}

// reset drops the connection with a TCP reset and no response.
func reset(w http.ResponseWriter) {
	conn, _, err := http.NewResponseController(w).Hijack()
	if err != nil {
		return // cannot happen with HTTP/1.1; the client then sees an empty 200
	}
	if tc, ok := conn.(*net.TCPConn); ok {
		_ = tc.SetLinger(0) // close sends RST
	}
	conn.Close()
}

// lieStored answers a PUT with 200 and the ETag a client that sent Content-MD5
// expects, whatever was stored: the most convincing lie.
func lieStored(w http.ResponseWriter, r *http.Request) {
	if sum, err := base64.StdEncoding.DecodeString(r.Header.Get("Content-MD5")); err == nil && len(sum) > 0 {
		w.Header().Set("ETag", `"`+hex.EncodeToString(sum)+`"`)
	}
	w.WriteHeader(http.StatusOK)
}
