package main

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/cairn-backup/cairn/remote"
	"github.com/cairn-backup/cairn/remote/s3/s3test"
)

// newLockCLI is a user whose repository is in a bucket of its own (Object Lock can
// only be enabled when a bucket is made).
func newLockCLI(t *testing.T, srv *s3test.Server) *cli {
	c := newS3CLI(t, srv, srv.Endpoint)
	c.Repo = fmt.Sprintf("s3:%s/cairn-lock-%d/repo", srv.Endpoint, rand.Uint32())
	c.Direct = c.Repo
	c.Env = append(c.Env, "CAIRN_REPO="+c.Repo)
	return c
}

// lockedUntil returns the retention of every object of the types a snapshot needs.
func lockedUntil(t *testing.T, c *cli) map[remote.Handle]remote.Retention {
	t.Helper()
	ctx := context.Background()
	st := c.Store(t)
	defer st.Close()
	l := st.(remote.Locker)
	out := map[remote.Handle]remote.Retention{}
	for _, typ := range []remote.Type{remote.Config, remote.Key, remote.Snapshot, remote.Index, remote.Data} {
		err := st.List(ctx, typ, func(i remote.Info) error {
			h := remote.Handle{Type: typ, Name: i.Name}
			r, err := l.Retention(ctx, h)
			out[h] = r
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	return out
}

// TestInitObjectLock: init --object-lock makes the bucket with Object Lock, and every
// object of a backup is locked at least lock-for past the snapshot's time.
func TestInitObjectLock(t *testing.T) {
	srv := s3test.Need(t)
	c := newLockCLI(t, srv)
	out := c.OK("init", "--object-lock", "--lock-for", "1h")
	if !strings.Contains(out, "objects are locked (governance) for 1h0m0s past each snapshot") {
		t.Fatalf("init --object-lock:\n%s", out)
	}
	src := filepath.Join(t.TempDir(), "src")
	writeFiles(t, src, map[string]string{"a": "alpha", "d/b": "beta"})
	start := time.Now()
	c.OK("backup", src)
	locks := lockedUntil(t, c)
	types := map[remote.Type]int{}
	for h, r := range locks {
		types[h.Type]++
		if r.Mode != remote.Governance || r.Until.Before(start.Add(time.Hour)) {
			t.Errorf("%s: locked %s until %s, want governance until at least %s", h, r.Mode, r.Until, start.Add(time.Hour))
		}
	}
	for _, typ := range []remote.Type{remote.Config, remote.Key, remote.Snapshot, remote.Index, remote.Data} {
		if types[typ] == 0 {
			t.Errorf("no %s object checked", typ)
		}
	}
}

// TestInitObjectLockRefused: a local directory and a bucket made without Object Lock
// are refused, and nothing is created.
func TestInitObjectLockRefused(t *testing.T) {
	local := newCLI(t)
	r := local.Run("init", "--object-lock")
	if r.Code != 1 || !strings.Contains(r.Stderr, "cannot lock objects (--object-lock needs an S3 bucket)") {
		t.Fatalf("init --object-lock on a directory: exit %d\n%s", r.Code, r.Stderr)
	}
	srv := s3test.Need(t)
	newS3CLI(t, srv, srv.Endpoint).OK("init") // makes the shared bucket without Object Lock
	c := newS3CLI(t, srv, srv.Endpoint)
	r = c.Run("init", "--object-lock")
	if r.Code != 1 || !strings.Contains(r.Stderr, "was made without Object Lock") {
		t.Fatalf("init --object-lock in a bucket without it: exit %d\n%s", r.Code, r.Stderr)
	}
	if r := c.Run("snapshots"); r.Code != 10 {
		t.Fatalf("after a refused init: exit %d, want 10 (no repository)\n%s", r.Code, r.Stderr)
	}
}

// TestLockExtension: a backup extends the locks of the packs it reuses once they end
// within lock-for of its time, and the next backup, within the period, sends no lock
// request at all.
func TestLockExtension(t *testing.T) {
	srv := s3test.Need(t)
	c := newLockCLI(t, srv)
	// A period long enough that the second and third backups fit in one even on a
	// loaded machine (with 2 s, the third backup fell outside it under load).
	c.OK("init", "--object-lock", "--lock-for", "80s") // period: 8s
	src := filepath.Join(t.TempDir(), "src")
	writeFiles(t, src, map[string]string{"a": "alpha", "d/b": "beta"})
	c.OK("backup", src)
	first := lockedUntil(t, c)
	time.Sleep(9 * time.Second) // past the period: every lock ends within lock-for
	start := time.Now()
	out := c.OK("backup", "--json", src)
	var sum backupSummary
	if err := json.Unmarshal([]byte(lastLine(out)), &sum); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	if sum.LocksExtended == 0 || sum.LocksExtended > sum.LocksNeeded {
		t.Fatalf("second backup: %d of %d locks extended, want some", sum.LocksExtended, sum.LocksNeeded)
	}
	now := lockedUntil(t, c)
	for h := range first {
		if h.Type == remote.Snapshot {
			continue // the first snapshot's record: the second needs it not
		}
		if now[h].Until.Before(start.Add(80 * time.Second)) {
			t.Errorf("%s: locked until %s after the second backup, want at least %s", h, now[h].Until, start.Add(80*time.Second))
		}
	}
	out = c.OK("backup", "--json", src)
	sum = backupSummary{} // the fields are left out when zero
	if err := json.Unmarshal([]byte(lastLine(out)), &sum); err != nil {
		t.Fatal(err)
	}
	if sum.LocksRead != 0 || sum.LocksExtended != 0 {
		t.Fatalf("third backup within the period: %d locks read, %d extended; want none", sum.LocksRead, sum.LocksExtended)
	}
}

// countObjects lists the objects of type t.
func countObjects(t *testing.T, c *cli, typ remote.Type) int {
	t.Helper()
	st := c.Store(t)
	defer st.Close()
	n := 0
	if err := st.List(context.Background(), typ, func(remote.Info) error { n++; return nil }); err != nil {
		t.Fatal(err)
	}
	return n
}

// TestPruneRespectsLocks: forget and prune try no delete on a locked object, say what
// the locks keep, and once the locks have ended remove what no snapshot needs.
func TestPruneRespectsLocks(t *testing.T) {
	srv := s3test.Need(t)
	c := newLockCLI(t, srv)
	c.OK("init", "--object-lock", "--lock-for", "4s")
	src := filepath.Join(t.TempDir(), "src")
	writeFiles(t, src, map[string]string{"a": strings.Repeat("alpha", 1000)})
	c.OK("backup", src)
	writeFiles(t, src, map[string]string{"a": strings.Repeat("omega", 1000)})
	c.OK("backup", src)
	packs := countObjects(t, c, remote.Data)
	out := c.OK("forget", "--keep-last", "1", "--prune")
	if !strings.Contains(out, "kept by object locks: 1 snapshots") {
		t.Fatalf("forget while the first snapshot is locked:\n%s", out)
	}
	if n := countObjects(t, c, remote.Snapshot); n != 2 {
		t.Fatalf("%d snapshot records after a forget of a locked one, want 2", n)
	}
	// Under --json, prune's object says what the locks kept (forget's, in one process).
	var pj struct {
		KeptByLocks []struct {
			Type  string    `json:"type"`
			Until time.Time `json:"locked_until"`
		} `json:"kept_by_locks"`
	}
	out = c.OK("--json", "forget", "--keep-last", "1", "--prune")
	if err := json.Unmarshal([]byte(lastLine(out)), &pj); err != nil || len(pj.KeptByLocks) == 0 ||
		pj.KeptByLocks[0].Type != string(remote.Snapshot) || pj.KeptByLocks[0].Until.Before(time.Now()) {
		t.Fatalf("prune --json does not say what the locks kept: %v\n%s", err, out)
	}
	time.Sleep(6 * time.Second) // past lock-for + period
	out = c.OK("forget", "--keep-last", "1", "--prune")
	if strings.Contains(out, "kept by object locks") {
		t.Fatalf("forget after the locks ended:\n%s", out)
	}
	if n := countObjects(t, c, remote.Snapshot); n != 1 {
		t.Fatalf("%d snapshot records after the locks ended, want 1", n)
	}
	if n := countObjects(t, c, remote.Data); n >= packs {
		t.Fatalf("%d packs after the prune, %d before: the unneeded ones stayed\n%s", n, packs, out)
	}
	checkConsistent(t, c)
	c.CheckContent(t, src)
}
