package main

import (
	"encoding/json"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/cairn-backup/cairn/remote/s3/s3test"
)

// The messages a person reads at 3 a.m.: one line that says what is wrong and what to
// do, with the exit code a script can test.

// withoutEnv returns env without the variables named.
func withoutEnv(env []string, names ...string) []string {
	var out []string
	for _, kv := range env {
		keep := true
		for _, n := range names {
			if strings.HasPrefix(kv, n+"=") {
				keep = false
			}
		}
		if keep {
			out = append(out, kv)
		}
	}
	return out
}

// lastLine is the final line of stderr: the one cairn exits with.
func lastLine(s string) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	return lines[len(lines)-1]
}

func TestS3NoCredentialsNamesTheVariables(t *testing.T) {
	srv := s3test.Need(t)
	c := newS3CLI(t, srv, srv.Endpoint)
	c.OK("init")
	c.Env = append(withoutEnv(c.Env, "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_PROFILE"),
		"AWS_SHARED_CREDENTIALS_FILE=/nonexistent", "AWS_EC2_METADATA_DISABLED=true")
	r := c.Run("snapshots")
	line := lastLine(r.Stderr)
	if r.Code != exitFatal || !strings.Contains(line, "no S3 credentials found") ||
		!strings.Contains(line, "AWS_ACCESS_KEY_ID") || !strings.Contains(line, "AWS_SECRET_ACCESS_KEY") {
		t.Fatalf("without credentials: exit %d, want %d and the variables named\n%s", r.Code, exitFatal, r.Stderr)
	}
}

func TestS3MissingBucketIsNamed(t *testing.T) {
	srv := s3test.Need(t)
	c := newS3CLI(t, srv, srv.Endpoint)
	c.Env = append(c.Env, "CAIRN_REPO=s3:"+srv.Endpoint+"/no-such-bucket-here/host1")
	r := c.Run("snapshots")
	line := lastLine(r.Stderr)
	if r.Code != exitNoRepo || !strings.Contains(line, `bucket "no-such-bucket-here" does not exist`) ||
		!strings.Contains(line, "'cairn init' would create the bucket") || strings.Count(r.Stderr, "\n") != 1 {
		t.Fatalf("missing bucket: exit %d, want %d and the bucket named\n%s", r.Code, exitNoRepo, r.Stderr)
	}
	// A backup's listings sent beside the config read say nothing more.
	r = c.Run("backup", t.TempDir())
	if line := lastLine(r.Stderr); r.Code != exitNoRepo || !strings.Contains(line, `bucket "no-such-bucket-here" does not exist`) ||
		strings.Count(r.Stderr, "\n") != 1 {
		t.Fatalf("backup, missing bucket: exit %d, want %d and one line naming the bucket\n%s", r.Code, exitNoRepo, r.Stderr)
	}
	r = c.Run("--json", "snapshots")
	if e := exitErrorOf(t, r.Stderr); r.Code != exitNoRepo || e.Code != exitNoRepo || !strings.Contains(e.Message, "no-such-bucket-here") {
		t.Fatalf("missing bucket under --json: exit %d, %+v", r.Code, e)
	}
}

// https asked of a server that speaks http: no retry can cure it, so it fails at once
// and says how to write the location.
func TestS3HTTPSAgainstPlainHTTP(t *testing.T) {
	srv := s3test.Need(t)
	if !strings.HasPrefix(srv.Endpoint, "http://") {
		t.Skip("the shared MinIO speaks https")
	}
	host := strings.TrimPrefix(srv.Endpoint, "http://")
	c := newS3CLI(t, srv, srv.Endpoint)
	c.Env = append(c.Env, "CAIRN_REPO=s3:"+host+"/cairn-cli/x") // restic's form: https
	start := time.Now()
	r := c.Run("snapshots")
	line := lastLine(r.Stderr)
	if r.Code != exitFatal || !strings.Contains(line, "speaks plain http, not https") ||
		!strings.Contains(line, "s3:http://"+host+"/cairn-cli/x") || strings.Contains(r.Stderr, "retrying") {
		t.Fatalf("https against http: exit %d\n%s", r.Code, r.Stderr)
	}
	if d := time.Since(start); d > 10*time.Second {
		t.Errorf("took %v to find out", d)
	}
}

// A port nobody listens on: each retry is told on stderr as it happens, and cairn
// gives up after a few attempts instead of the whole retry budget.
func TestS3ConnectionRefusedGivesUpSoon(t *testing.T) {
	srv := s3test.Need(t)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	c := newS3CLI(t, srv, srv.Endpoint)
	c.Env = append(c.Env, "CAIRN_REPO=s3:http://"+addr+"/bucket")
	start := time.Now()
	r := c.Run("snapshots")
	d := time.Since(start)
	t.Logf("after %v:\n%s", d, r.Stderr)
	retries := strings.Count(r.Stderr, "retrying in")
	if r.Code != exitFatal || retries < 2 || !strings.Contains(r.Stderr, "(attempt 1)") ||
		!strings.Contains(lastLine(r.Stderr), "connection to "+addr+" refused") ||
		!strings.Contains(lastLine(r.Stderr), "gave up after") {
		t.Fatalf("connection refused: exit %d, %d retry lines\n%s", r.Code, retries, r.Stderr)
	}
	if d > 30*time.Second {
		t.Errorf("took %v to give up on a closed port (budget: 5 minutes)", d)
	}
}

func TestS3UnknownHostGivesUpSoon(t *testing.T) {
	srv := s3test.Need(t)
	c := newS3CLI(t, srv, srv.Endpoint)
	c.Env = append(c.Env, "CAIRN_REPO=s3:http://no-such-host.invalid:9000/bucket")
	start := time.Now()
	r := c.Run("--json", "snapshots")
	e := exitErrorOf(t, r.Stderr)
	if r.Code != exitFatal || e.Code != exitFatal || !strings.Contains(e.Message, "host no-such-host.invalid not found") {
		t.Fatalf("unknown host: exit %d\n%s", r.Code, r.Stderr)
	}
	lines := strings.Split(strings.TrimSpace(r.Stderr), "\n")
	for _, l := range lines[:len(lines)-1] {
		var a struct {
			Type    string  `json:"message_type"`
			Attempt int     `json:"attempt"`
			Wait    float64 `json:"wait_seconds"`
		}
		if err := json.Unmarshal([]byte(l), &a); err != nil || a.Type != "retry" || a.Attempt < 1 || a.Wait <= 0 {
			t.Errorf("retry line under --json: %v: %s", err, l)
		}
	}
	if len(lines) < 2 {
		t.Errorf("no retry was told:\n%s", r.Stderr)
	}
	if d := time.Since(start); d > 30*time.Second {
		t.Errorf("took %v to give up on an unknown host", d)
	}
}
