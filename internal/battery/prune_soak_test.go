package battery

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"github.com/cairn-backup/cairn/internal/clitest"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cairn-backup/cairn/remote/s3/s3test"
	"golang.org/x/sync/errgroup"
)

// The soak test of docs/prune.md: two hosts back up into one bucket while a
// `forget --keep-last 3 --prune` loop and a `restore latest` + `verify` loop run, on a
// MinIO with four erasure-coded drives. It runs for CAIRN_TEST_SOAK (default 45s, to
// keep `make test` fast on two cores; CAIRN_TEST_SOAK=2m is the length the retention
// issue asks for), then quiesces: every snapshot whose backup exited 0 and that was not
// forgotten restores exactly, and `verify --read-data` is clean. CAIRN_TEST_SOAK_SEED
// replays a run.

const (
	soakDefault = 45 * time.Second
	soakRounds  = 500             // per loop, whatever the time
	soakCmdMax  = 3 * time.Minute // per command
	soakGrace   = "10s"
)

// soak is the shared record of a run: what each backup that exited 0 saved, and what
// went wrong.
type soak struct {
	seed     uint64
	deadline time.Time
	tmp      string

	mu       sync.Mutex
	saved    map[string]map[string]string // snapshot id → state of its source
	order    map[string][]string          // host → ids of its snapshots, oldest first
	findings []string
	notes    []string // outcomes the protocol allows, logged
	failed   []failedRestore
	counts   map[string]int
}

// soakHost is one backup client: its own name, source tree, state and cache.
type soakHost struct {
	name, src string
	u         *clitest.CLI
	rng       *rand.Rand
}

func TestSoakPruneWithBackupsAndRestores(t *testing.T) {
	if _, err := s3test.Binary(); errors.Is(err, s3test.ErrNoMinIO) && os.Getenv("CI") != "true" {
		t.Skip("soak test skipped: " + err.Error())
	}
	dur, seed := soakConfig(t)
	t.Logf("soak for %v, seed %d (CAIRN_TEST_SOAK_SEED=%d replays it)", dur, seed, seed)
	srv := s3test.NeedMode(t, s3test.Erasure)
	admin := clitest.NewS3(t, cairnBin, srv, srv.Endpoint)
	admin.OK("init", "--pack-size", "1")
	s := &soak{seed: seed, tmp: t.TempDir(), saved: map[string]map[string]string{},
		order: map[string][]string{}, counts: map[string]int{}}
	rng := rand.New(rand.NewPCG(seed, 13))
	hosts := []*soakHost{s.newHost(t, admin, "alpha", rng.Uint64()), s.newHost(t, admin, "beta", rng.Uint64())}
	for _, h := range hosts { // a first snapshot each, before anything forgets
		s.backup(t.Context(), h)
	}
	s.deadline = time.Now().Add(dur)
	start := time.Now()
	var g errgroup.Group
	for _, h := range hosts {
		g.Go(func() error { s.backupLoop(t.Context(), h); return nil })
	}
	g.Go(func() error { s.forgetLoop(t.Context(), s.user(t, admin), rng.Uint64()); return nil })
	g.Go(func() error { s.restoreLoop(t.Context(), s.user(t, admin), hosts); return nil })
	_ = g.Wait()
	t.Logf("loops ran %v: %v", time.Since(start).Round(time.Second), s.counts)
	s.quiesce(t, admin, hosts)
	for _, n := range s.notes {
		t.Log(n)
	}
	for _, f := range s.findings {
		t.Errorf("seed %d: %s", seed, f)
	}
}

// soakConfig reads the run's length and seed from CAIRN_TEST_SOAK and
// CAIRN_TEST_SOAK_SEED.
func soakConfig(t *testing.T) (time.Duration, uint64) {
	dur, seed := soakDefault, rand.Uint64()
	var err error
	if v := os.Getenv("CAIRN_TEST_SOAK"); v != "" {
		if dur, err = time.ParseDuration(v); err != nil {
			t.Fatalf("CAIRN_TEST_SOAK=%q: %v", v, err)
		}
	}
	if v := os.Getenv("CAIRN_TEST_SOAK_SEED"); v != "" {
		if seed, err = strconv.ParseUint(v, 10, 64); err != nil {
			t.Fatalf("CAIRN_TEST_SOAK_SEED=%q: %v", v, err)
		}
	}
	return dur, seed
}

// user is another client of admin's repository, with state and cache of its own.
func (s *soak) user(t *testing.T, admin *clitest.CLI) *clitest.CLI {
	u := clitest.New(t, cairnBin)
	u.Repo, u.Direct = admin.Repo, admin.Direct
	for _, kv := range admin.Env {
		if strings.HasPrefix(kv, "CAIRN_REPO=") || strings.HasPrefix(kv, "AWS_") {
			u.Env = append(u.Env, kv)
		}
	}
	return u
}

// newHost makes a source tree of files shared with the other host (same names and
// contents at first) and files of its own.
func (s *soak) newHost(t *testing.T, admin *clitest.CLI, name string, seed uint64) *soakHost {
	h := &soakHost{name: name, src: filepath.Join(s.tmp, name), u: s.user(t, admin), rng: rand.New(rand.NewPCG(seed, 1))}
	var errs []error
	for i := range 8 {
		errs = append(errs, s.writeVersion(filepath.Join(h.src, "shared", fmt.Sprintf("s%d", i)), uint64(i)))
	}
	for i := range 6 {
		errs = append(errs, s.writeVersion(filepath.Join(h.src, "own", fmt.Sprintf("o%d", i)), h.rng.Uint64N(1000)+100))
	}
	if err := errors.Join(errs...); err != nil {
		t.Fatal(err)
	}
	return h
}

// writeVersion writes content number v: the same v is the same bytes on either host,
// so the hosts' data deduplicate, and contents come back after being forgotten.
func (s *soak) writeVersion(path string, v uint64) error {
	rng := rand.New(rand.NewPCG(s.seed, v))
	data := make([]byte, 4<<10+rng.IntN(160<<10))
	for i := range data {
		data[i] = byte(rng.Uint32())
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	return os.WriteFile(path, data, 0o644)
}

// change rewrites one to three files with contents from a window of versions that
// moves with the round, and now and then adds or removes a file of the host's own.
func (s *soak) change(h *soakHost, round int) error {
	for range 1 + h.rng.IntN(3) {
		dir, name := "shared", fmt.Sprintf("s%d", h.rng.IntN(8))
		if h.rng.IntN(2) == 0 {
			dir, name = "own", fmt.Sprintf("o%d", h.rng.IntN(6))
		}
		if err := s.writeVersion(filepath.Join(h.src, dir, name), uint64(round+h.rng.IntN(12))); err != nil {
			return err
		}
	}
	extra := filepath.Join(h.src, "own", fmt.Sprintf("x%d", h.rng.IntN(4)))
	if _, err := os.Stat(extra); err == nil {
		return os.Remove(extra)
	}
	return s.writeVersion(extra, uint64(round+h.rng.IntN(12)))
}

// run runs one command, bounded in time; a failure to start it is exit code -1.
func (s *soak) run(ctx context.Context, u *clitest.CLI, args ...string) clitest.Result {
	ctx, cancel := context.WithTimeout(ctx, soakCmdMax)
	defer cancel()
	cmd := exec.CommandContext(ctx, cairnBin, args...)
	cmd.Env = u.Env
	var out, errb strings.Builder
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	var ee *exec.ExitError
	switch {
	case errors.As(err, &ee):
		return clitest.Result{Stdout: out.String(), Stderr: errb.String(), Code: ee.ExitCode()}
	case err != nil:
		return clitest.Result{Stdout: out.String(), Stderr: errb.String() + err.Error(), Code: -1}
	}
	return clitest.Result{Stdout: out.String(), Stderr: errb.String(), Code: 0}
}

// finding records a failure of a command, with its output.
func (s *soak) finding(r clitest.Result, format string, args ...any) {
	msg := fmt.Sprintf(format, args...) + fmt.Sprintf(" at %s: exit %d\n%s%s",
		time.Now().Format("15:04:05.000"), r.Code, clip(r.Stdout), clip(r.Stderr))
	s.mu.Lock()
	defer s.mu.Unlock()
	s.findings = append(s.findings, msg)
}

func clip(s string) string {
	if len(s) > 4000 {
		return s[:2000] + "\n…\n" + s[len(s)-2000:]
	}
	return s
}

func (s *soak) count(what string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.counts[what]++
}

func (s *soak) running(round int) bool { return round < soakRounds && time.Now().Before(s.deadline) }

// backup backs h up and records the snapshot if the run exits 0. Exit 1 because the
// run outlived the grace period (docs/prune.md, backup step 4) is allowed.
func (s *soak) backup(ctx context.Context, h *soakHost) {
	state, err := clitest.StateOf(h.src)
	if err != nil {
		s.finding(clitest.Result{Stderr: err.Error(), Code: -1}, "reading %s's source", h.name)
		return
	}
	r := s.run(ctx, h.u, "backup", "--host", h.name, "--json", "-q", h.src)
	var sum backupSummary
	switch {
	case r.Code == 0 && json.Unmarshal([]byte(r.Stdout), &sum) == nil && sum.Snapshot != "":
		s.mu.Lock()
		s.saved[sum.Snapshot] = state
		s.order[h.name] = append(s.order[h.name], sum.Snapshot)
		s.counts["backup"]++
		s.mu.Unlock()
	case r.Code == exitFatal && strings.Contains(r.Stderr, "longer than the prune grace period"):
		s.count("backup exit 1 (grace check)")
		s.mu.Lock()
		s.notes = append(s.notes, fmt.Sprintf("backup --host %s exited 1: %s", h.name, strings.TrimSpace(r.Stderr)))
		s.mu.Unlock()
	default:
		s.finding(r, "backup --host %s", h.name)
	}
}

func (s *soak) backupLoop(ctx context.Context, h *soakHost) {
	for round := 1; s.running(round); round++ {
		if err := s.change(h, round); err != nil {
			s.finding(clitest.Result{Stderr: err.Error(), Code: -1}, "changing %s's source", h.name)
			return
		}
		s.backup(ctx, h)
	}
}

func (s *soak) forgetLoop(ctx context.Context, u *clitest.CLI, seed uint64) {
	rng := rand.New(rand.NewPCG(seed, 2))
	for round := 0; s.running(round); round++ {
		r := s.run(ctx, u, "forget", "--keep-last", "3", "--prune", "--grace", soakGrace)
		if r.Code != 0 {
			s.finding(r, "forget --keep-last 3 --prune --grace %s", soakGrace)
		}
		s.count("forget --prune")
		time.Sleep(time.Duration(200+rng.IntN(1500)) * time.Millisecond)
	}
}

// restoreLoop restores the latest snapshot of each host in turn, compares it with
// what its backup saved when that backup has been recorded, and verifies the
// repository, reading every pack every third round.
func (s *soak) restoreLoop(ctx context.Context, u *clitest.CLI, hosts []*soakHost) {
	for round := 0; s.running(round); round++ {
		h := hosts[round%len(hosts)]
		target := filepath.Join(s.tmp, fmt.Sprintf("restore-%d", round))
		r := s.run(ctx, u, "restore", "latest", "--host", h.name, "--target", target, "--json")
		s.checkRestore(r, target, h, fmt.Sprintf("restore latest --host %s", h.name))
		_ = os.RemoveAll(target)
		args := []string{"verify"}
		if round%3 == 2 {
			args = append(args, "--read-data")
		}
		if r := s.run(ctx, u, args...); r.Code != 0 {
			s.finding(r, "%s", strings.Join(args, " "))
		}
		s.count(strings.Join(args, " "))
	}
}

// checkRestore compares a restored snapshot with what its backup saved.
func (s *soak) checkRestore(r clitest.Result, target string, h *soakHost, what string) {
	var sum restoreSummary
	if json.NewDecoder(strings.NewReader(r.Stdout)).Decode(&sum) != nil || sum.Snapshot == "" {
		s.finding(r, "%s", what)
		return
	}
	if r.Code != 0 { // judged once every backup has returned: see failedRestores
		s.mu.Lock()
		s.failed = append(s.failed, failedRestore{sum.Snapshot, what, r})
		s.mu.Unlock()
		return
	}
	s.mu.Lock()
	want, ok := s.saved[sum.Snapshot]
	s.mu.Unlock()
	if !ok { // its backup has not returned yet
		s.count("restored before recorded")
		return
	}
	got, err := clitest.StateOf(filepath.Join(target, h.src))
	if err != nil {
		s.finding(r, "%s of %s: %v", what, sum.Snapshot, err)
		return
	}
	if diff := stateDiff(want, got); len(diff) > 0 {
		s.finding(r, "%s of %s differs from its source: %s", what, sum.Snapshot, strings.Join(diff, "; "))
	}
	s.count("restore compared")
}

// failedRestore is a restore that did not finish cleanly, of snapshot id.
type failedRestore struct {
	id, what string
	r        clitest.Result
}

// failedRestores judges the failed restores once the loops have stopped. A restore of
// a snapshot whose backup exited 0 must not fail. One whose backup exited 1 is allowed
// to: the backup wrote the snapshot, found it relied on data a prune had marked, and
// removed it (docs/prune.md, backup step 4); a restore that ran meanwhile may have
// found that data gone.
func (s *soak) failedRestores(listed []string) {
	for _, f := range s.failed {
		_, saved := s.saved[f.id]
		if saved || slices.Contains(listed, f.id) {
			s.finding(f.r, "%s of %s, whose backup exited 0,", f.what, f.id)
			continue
		}
		s.notes = append(s.notes, fmt.Sprintf("%s of %s, a snapshot its backup removed, exited %d: %s",
			f.what, f.id, f.r.Code, strings.TrimSpace(f.r.Stderr)))
	}
}

// stateDiff is sameState for goroutines other than the test's.
func stateDiff(want, got map[string]string) []string {
	var diff []string
	for p, w := range want {
		if p != "." && got[p] != w {
			diff = append(diff, fmt.Sprintf("%s: got %q, want %q", p, got[p], w))
		}
	}
	for p := range got {
		if _, ok := want[p]; !ok {
			diff = append(diff, p+": not in the source")
		}
	}
	slices.Sort(diff)
	return diff
}

// quiesce prunes once more with nothing running, then checks every snapshot left.
func (s *soak) quiesce(t *testing.T, admin *clitest.CLI, hosts []*soakHost) {
	ctx := t.Context()
	if r := s.run(ctx, admin, "prune", "--grace", soakGrace); r.Code != 0 {
		s.finding(r, "prune after the loops stopped")
	}
	listed := admin.SnapshotIDs(t)
	s.failedRestores(listed)
	for _, id := range listed {
		if _, ok := s.saved[id]; !ok {
			t.Errorf("seed %d: snapshot %s is listed but no backup that exited 0 made it", s.seed, id)
		}
	}
	for _, h := range hosts {
		ids := s.order[h.name]
		for _, id := range ids[max(0, len(ids)-3):] {
			if !slices.Contains(listed, id) {
				t.Errorf("seed %d: snapshot %s, one of %s's three newest, is gone", s.seed, id, h.name)
			}
		}
		for _, id := range ids {
			if !slices.Contains(listed, id) {
				continue
			}
			target := filepath.Join(s.tmp, "final-"+id)
			r := s.run(ctx, admin, "restore", id, "--target", target, "--json")
			s.checkRestore(r, target, h, "restore after quiescing")
		}
	}
	if r := s.run(ctx, admin, "verify", "--read-data"); r.Code != 0 {
		s.finding(r, "verify --read-data after quiescing")
	}
	t.Logf("after quiescing: %d snapshots of %d saved; %v", len(listed), len(s.saved), s.counts)
}
