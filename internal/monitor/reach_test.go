package monitor

import (
	"context"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

// Reachable connects to the server but never sends it a ping: a check would count
// any request to its URL as one.
func TestReachableSendsNoPing(t *testing.T) {
	requests := 0
	srv := httptest.NewServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) { requests++ }))
	defer srv.Close()
	if err := Reachable(context.Background(), srv.URL+"/ping/uuid", 5*time.Second); err != nil {
		t.Fatalf("a listening server is unreachable: %v", err)
	}
	srv.Close()
	if requests != 0 {
		t.Errorf("the check got %d requests", requests)
	}
}

func TestReachableRefused(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	err = Reachable(context.Background(), "http://"+addr+"/ping/secret-uuid", 5*time.Second)
	if err == nil || !strings.Contains(err.Error(), "unreachable") || strings.Contains(err.Error(), "secret-uuid") {
		t.Errorf("closed port: %v", err)
	}
	if err := Reachable(context.Background(), "ftp://host/x", time.Second); err == nil {
		t.Error("an ftp URL passed")
	}
}
