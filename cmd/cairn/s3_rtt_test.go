package main

import (
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/cairn-backup/cairn/remote/s3/s3test"
)

// maxNoChangeChain bounds the requests a no-change backup on S3 makes one after
// another: at a distant bucket each costs a round trip (docs/benchmarks.md, "S3
// nightly at WAN latency").
const maxNoChangeChain = 4

// TestS3NoChangeBackupRoundTrips: a nightly backup that finds nothing changed waits
// for at most maxNoChangeChain requests in turn. The proxy holds every request a
// little, so requests sent together overlap however loaded the machine is. The run
// note's PUT and its check go beside the index load and the walk: with a longer walk
// than their two round trips they would end before the snapshot's PUT and count in
// the chain (not in the wall), so the tree is tiny and the delay ample.
func TestS3NoChangeBackupRoundTrips(t *testing.T) {
	srv := s3test.Need(t)
	var rec s3test.Spans
	proxy, err := s3test.StartFaultProxy(t.Context(), s3test.Config{Upstream: srv.Endpoint, CountOnly: true,
		Delay: 50 * time.Millisecond, Trace: rec.Trace})
	if err != nil {
		t.Fatal(err)
	}
	defer proxy.Close()
	c := newS3CLI(t, srv, proxy.URL)
	c.OK("init")
	src := filepath.Join(t.TempDir(), "src")
	writeFiles(t, src, map[string]string{"a": "alpha", "d/b": "beta", "d/e/c": "gamma"})
	c.OK("backup", "-q", src)
	rec.Record()
	c.OK("backup", "-q", src)
	spans := rec.Stop()
	chain := s3test.LongestChain(spans)
	var b strings.Builder
	for _, s := range chain {
		fmt.Fprintf(&b, "  %s %s\n", s.Op, s.Target)
	}
	t.Logf("%d requests, %d one after another:\n%s", len(spans), len(chain), b.String())
	if len(chain) > maxNoChangeChain {
		t.Errorf("a no-change backup made %d requests one after another, want at most %d", len(chain), maxNoChangeChain)
	}
}
