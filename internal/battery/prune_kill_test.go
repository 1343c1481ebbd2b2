package battery

import (
	"errors"
	"github.com/cairn-backup/cairn/internal/clitest"
	"math/rand/v2"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"
)

// A prune killed at any instant leaves a repository that verifies and restores every
// kept snapshot, and the next prunes finish the work (docs/prune.md): killed at 20
// seeded moments, and at each crash point.
func TestKilledPruneLeavesRestorableRepository(t *testing.T) {
	seed := seed(t, "prune kills")
	base := newPruneBase(t, 7)
	clean := base.clone(t)
	start := time.Now()
	if p := pruneJSONOut(t, clean.OK("prune", "--grace", "10s", "--json")); p.PacksDeleted == 0 || !p.AtOnce {
		t.Fatalf("the uninterrupted prune deleted nothing at once: %+v", p)
	}
	took := time.Since(start)
	want := dataBytes(objects(t, clean.Repo))
	t.Logf("an uninterrupted prune takes %v and leaves %d bytes of packs", took, want)
	rng := rand.New(rand.NewPCG(seed, 20))
	for i := range tier(3, 20) {
		c := base.clone(t)
		cmd := c.Cmd("prune", "--grace", "10s")
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		at := time.Duration(rng.Int64N(int64(took) * 3 / 2))
		time.Sleep(at)
		_ = cmd.Process.Signal(syscall.SIGKILL)
		count(1, 0, 1, 0, 0)
		err := cmd.Wait()
		t.Logf("kill %d after %v: %v", i, at, err)
		finishPrune(t, c, base, want)
	}
}

func TestPruneCrashPoints(t *testing.T) {
	bin := crashBinary(t)
	base := newPruneBase(t, 8)
	clean := base.clone(t)
	clean.OK("prune", "--grace", "10s")
	want := dataBytes(objects(t, clean.Repo))
	for _, point := range []string{"prune-repacked", "prune-marked", "prune-new-index-written", "prune-index-rewritten", "prune-mid-delete"} {
		t.Run(point, func(t *testing.T) {
			c := base.clone(t)
			cmd := exec.Command(bin, "prune", "--grace", "10s")
			cmd.Env = append(append([]string{}, c.Env...), "CAIRN_CRASH_AT="+point)
			out, err := cmd.CombinedOutput()
			var ee *exec.ExitError
			if !errors.As(err, &ee) || ee.Sys().(syscall.WaitStatus).Signal() != syscall.SIGKILL {
				t.Fatalf("prune did not crash at %s: %v\n%s", point, err, out)
			}
			finishPrune(t, c, base, want)
		})
	}
}

// finishPrune reruns prune after a killed one: the repository then verifies and
// restores every kept snapshot; once the grace period has passed (for the packs a
// killed repack left unindexed too), further prunes come to rest with about as much
// data as an uninterrupted prune (a repack killed half way lays packs out otherwise).
func finishPrune(t *testing.T, c *clitest.CLI, base *pruneBase, want int64) {
	t.Helper()
	c.OK("prune", "--grace", "10s")
	checkKept(t, c, base.src, base.kept)
	var p pruneResult
	for range 3 {
		ageAll(t, c)
		p = pruneJSONOut(t, c.OK("prune", "--grace", "10s", "--json"))
		if p.PacksDeleted == 0 && p.PacksMarked == 0 && p.PacksRepack == 0 {
			break
		}
	}
	got := dataBytes(objects(t, c.Repo))
	if got > want+want/10 || p.PacksWaiting != 0 || p.PacksMarked != 0 || p.PacksRepack != 0 {
		t.Errorf("after the reruns: %d bytes of packs (want about %d), last prune %+v", got, want, p)
	}
	c.OK("verify")
}

func dataBytes(objs map[string]int64) int64 {
	var n int64
	for name, size := range objs {
		if strings.HasPrefix(name, "data/") {
			n += size
		}
	}
	return n
}
