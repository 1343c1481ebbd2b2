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
// nightly at WAN latency"). They are the config read, the run note's PUT, the
// listing of marks (with packs and the note's check beside it), the snapshot record's
// PUT, and its check (beside the check after writing and the note's deletion); the
// second and third run while the key is derived (docs/prune.md, "Which requests may
// go side by side"), so at a distant bucket they cost little wall time.
const maxNoChangeChain = 5

// TestS3NoChangeBackupRoundTrips: a nightly backup that finds nothing changed waits
// for at most maxNoChangeChain requests in turn. The proxy holds every request a
// little, so requests sent together overlap however loaded the machine is; the tree
// is tiny, so that nothing but the requests decides the chain.
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
