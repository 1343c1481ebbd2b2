package monitor

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"
)

// pingServer records the pings it receives; it answers 503 to the first fails pings.
type pingServer struct {
	mu    sync.Mutex
	got   []string // "METHOD PATH BODY"
	fails int
}

func (s *pingServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	s.mu.Lock()
	defer s.mu.Unlock()
	s.got = append(s.got, r.Method+" "+r.URL.RequestURI()+" "+string(body))
	if s.fails > 0 {
		s.fails--
		w.WriteHeader(http.StatusServiceUnavailable)
		return
	}
	io.WriteString(w, "OK")
}

func TestPingConvention(t *testing.T) {
	s := &pingServer{}
	srv := httptest.NewServer(s)
	defer srv.Close()
	p := NewPinger(srv.URL + "/ping/0a1b2c3d/")
	ctx := context.Background()
	if err := p.Start(ctx); err != nil {
		t.Fatal(err)
	}
	if err := p.Success(ctx, "snapshot 1a2b3c4d saved"); err != nil {
		t.Fatal(err)
	}
	log := strings.Repeat("an early line of the log\n", 1000) + "backup: disk full\n"
	if err := p.Fail(ctx, []byte(log)); err != nil {
		t.Fatal(err)
	}
	if len(s.got) != 3 {
		t.Fatalf("pings: %q", s.got)
	}
	for i, want := range []string{"POST /ping/0a1b2c3d/start ", "POST /ping/0a1b2c3d snapshot 1a2b3c4d saved", "POST /ping/0a1b2c3d/fail "} {
		if !strings.HasPrefix(s.got[i], want) {
			t.Errorf("ping %d = %.60q, want %q…", i, s.got[i], want)
		}
	}
	body := strings.TrimPrefix(s.got[2], "POST /ping/0a1b2c3d/fail ")
	if len(body) > MaxPingBody || !strings.HasSuffix(body, "backup: disk full\n") || !strings.HasPrefix(body, "an early") {
		t.Errorf("fail body: %d bytes, want the last whole lines within %d: %.40q…", len(body), MaxPingBody, body)
	}
}

func TestPingKeepsQuery(t *testing.T) {
	s := &pingServer{}
	srv := httptest.NewServer(s)
	defer srv.Close()
	if err := NewPinger(srv.URL+"/abc?create=1").Fail(context.Background(), nil); err != nil {
		t.Fatal(err)
	}
	if s.got[0] != "POST /abc/fail?create=1 " {
		t.Errorf("got %q", s.got[0])
	}
}

func TestPingRetries(t *testing.T) {
	s := &pingServer{fails: 2}
	srv := httptest.NewServer(s)
	defer srv.Close()
	p := &Pinger{URL: srv.URL + "/x", Backoff: time.Millisecond}
	if err := p.Start(context.Background()); err != nil {
		t.Fatalf("two 503s then 200: %v", err)
	}
	if len(s.got) != 3 {
		t.Errorf("%d attempts, want 3", len(s.got))
	}
	s.fails = 5
	if err := p.Start(context.Background()); err == nil || !strings.Contains(err.Error(), "503") {
		t.Errorf("five 503s: err = %v", err)
	}
}

func TestPingNotFoundNotRetried(t *testing.T) {
	n := 0
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		n++
		http.NotFound(w, nil)
	}))
	defer srv.Close()
	err := (&Pinger{URL: srv.URL + "/x", Backoff: time.Millisecond}).Start(context.Background())
	if err == nil || n != 1 {
		t.Errorf("404: err %v after %d attempts, want an error after 1", err, n)
	}
}

// An unreachable or hanging check is an error within the bounds, and its message
// never holds the token of the URL.
func TestPingMissRedacted(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close() // nothing listens there now
	p := &Pinger{URL: "http://" + addr + "/ping/SECRET-TOKEN", Backoff: time.Millisecond}
	err = p.Success(context.Background(), "ok")
	if err == nil {
		t.Fatal("a ping to a closed port succeeded")
	}
	if strings.Contains(err.Error(), "SECRET") {
		t.Errorf("the error shows the token: %v", err)
	}
	hang := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		<-r.Context().Done()
	}))
	defer hang.Close()
	p = &Pinger{URL: hang.URL + "/SECRET", Timeout: 50 * time.Millisecond, Attempts: 2, Backoff: time.Millisecond}
	start := time.Now()
	err = p.Start(context.Background())
	if err == nil || time.Since(start) > 5*time.Second || strings.Contains(err.Error(), "SECRET") {
		t.Errorf("hanging server: err %v after %v", err, time.Since(start))
	}
}

func TestRedact(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{"https://hc-ping.com/5f9a-uuid", "https://hc-ping.com/…"},
		{"https://hc-ping.com/5f9a-uuid/start", "https://hc-ping.com/…/start"},
		{"https://hc-ping.com/PINGKEY/backup-slug/fail", "https://hc-ping.com/…/fail"},
		{"https://kuma.example/api/push/TOKEN?status=up&msg=OK", "https://kuma.example/…"},
		{"https://user:pw@hc.example:8000/x", "https://hc.example:8000/…"},
		{"https://hc.example", "https://hc.example"},
		{"not a url", "…"},
	} {
		if got := Redact(c.in); got != c.want {
			t.Errorf("Redact(%q) = %q, want %q", c.in, got, c.want)
		}
	}
}

func TestPingRefusesOtherSchemes(t *testing.T) {
	err := NewPinger("ftp://example.com/TOKEN").Start(context.Background())
	if err == nil || strings.Contains(err.Error(), "TOKEN") {
		t.Errorf("err = %v", err)
	}
}

// An Uptime Kuma push URL gets Kuma's convention: no start, ?status=up|down&msg=.
func TestPingUptimeKuma(t *testing.T) {
	s := &pingServer{}
	srv := httptest.NewServer(s)
	defer srv.Close()
	p := NewPinger(srv.URL + "/api/push/T0KEN?status=up&msg=OK&ping=")
	ctx := context.Background()
	if err := p.Start(ctx); err != nil {
		t.Fatal(err)
	}
	if err := p.Success(ctx, "snapshot 1a2b3c4d saved\nsecond line"); err != nil {
		t.Fatal(err)
	}
	if err := p.Fail(ctx, []byte("step one\nbackup: disk full\n")); err != nil {
		t.Fatal(err)
	}
	want := []string{
		"GET /api/push/T0KEN?msg=snapshot+1a2b3c4d+saved&ping=&status=up ",
		"GET /api/push/T0KEN?msg=backup%3A+disk+full&ping=&status=down ",
	}
	if strings.Join(s.got, "|") != strings.Join(want, "|") {
		t.Errorf("pings:\n%q\nwant\n%q", s.got, want)
	}
}

func TestTailWriter(t *testing.T) {
	w := &TailWriter{Max: 100}
	for i := range 1000 {
		fmt.Fprintf(w, "line %d\n", i)
	}
	got := string(w.Bytes())
	if len(got) > 100 || !strings.HasSuffix(got, "line 999\n") || !strings.HasPrefix(got, "line ") {
		t.Errorf("%d bytes: %q", len(got), got)
	}
	if len(w.buf) > 200 {
		t.Errorf("holds %d bytes, want at most 2×Max", len(w.buf))
	}
	var wg sync.WaitGroup // stdout and stderr of a hook, copied at once (run with -race)
	for range 2 {
		wg.Go(func() {
			for range 100 {
				w.Write([]byte("out\n"))
			}
		})
	}
	wg.Wait()
	if got := string(w.Bytes()); !strings.HasSuffix(got, "out\n") {
		t.Errorf("%q", got)
	}
}
