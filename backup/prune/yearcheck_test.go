package prune

import (
	"context"
	"crypto/sha256"
	"io/fs"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/cairn-backup/cairn/backup/restore"
	"github.com/cairn-backup/cairn/internal/repo"
	"github.com/cairn-backup/cairn/remote"
)

// The end-of-year checks of TestSimulatedYear.

// checkKept compares the snapshots the repository lists at the end with the policy
// applied to the 365 nights, and with those the test saw forget keep.
func (y *year) checkKept() {
	y.t.Helper()
	r := y.open()
	defer r.Close()
	snaps, bad, err := r.LoadSnapshots(y.t.Context())
	if err != nil || len(bad) > 0 {
		y.t.Fatalf("list snapshots: %v %v", err, bad)
	}
	want := policyKeeps(y.times)
	if len(snaps) != len(want) || len(snaps) != len(y.kept) {
		y.t.Errorf("%d snapshots listed, the policy keeps %d, forget said it kept %d", len(snaps), len(want), len(y.kept))
	}
	for _, s := range snaps {
		if i, ok := y.night[s.Time.Unix()]; !ok || !want[i] || y.kept[s.ID] == nil {
			y.t.Errorf("snapshot %s of %s is listed; the policy does not keep it", s.ID.Short(), s.Time)
		}
	}
	y.t.Logf("%d snapshots kept after %d nights, %d prunes deleted packs", len(snaps), yearNights, y.pruned)
}

// checkRestores restores every kept snapshot and compares the whole tree with what
// the source held that night: every file, no more, byte for byte.
func (y *year) checkRestores() {
	y.t.Helper()
	r := y.open()
	defer r.Close()
	snaps, _, err := r.LoadSnapshots(y.t.Context())
	if err != nil {
		y.t.Fatal(err)
	}
	for _, s := range snaps {
		target := y.t.TempDir()
		if _, err := restore.Run(y.t.Context(), r, s, restore.Options{Target: target}); err != nil {
			y.t.Fatalf("restore %s of %s: %v", s.ID.Short(), s.Time, err)
		}
		got := readTree(y.t, filepath.Join(target, y.src.dir))
		want := y.kept[s.ID]
		for name, c := range want {
			if g, ok := got[name]; !ok || g != c {
				y.t.Errorf("snapshot of %s: %s restored %v (%d bytes), want %d bytes of the night's content",
					s.Time.Format(time.DateOnly), name, ok, g.size, c.size)
			}
		}
		for name := range got {
			if _, ok := want[name]; !ok {
				y.t.Errorf("snapshot of %s: %s restored, but the source had no such file then", s.Time.Format(time.DateOnly), name)
			}
		}
	}
}

func readTree(t *testing.T, dir string) map[string]content {
	t.Helper()
	out := map[string]content{}
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		data, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(dir, p)
		out[filepath.ToSlash(rel)] = content{sha256.Sum256(data), int64(len(data))}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// checkSize holds the repository's packs to at most 1.5 times the live data. Live
// data is the stored size of every distinct blob (file chunk or directory node) that
// a kept snapshot references, each counted once: what a repository holding only the
// kept snapshots, perfectly packed, would hold. It does not grow with the retention
// churn, the versions of the hot files that no kept snapshot holds, while the bytes
// written do; the check fails if the test's own churn would not break the bound
// without deletion.
func (y *year) checkSize() {
	y.t.Helper()
	r := y.open()
	defer r.Close()
	live, packs := y.liveBytes(r), y.packBytes()
	var written int64
	for _, n := range y.written {
		written += n
	}
	y.t.Logf("packs %d bytes, live %d bytes, ratio %.2f; %d bytes written over the year",
		packs, live, float64(packs)/float64(live), written)
	if files := y.smallFileBytes(); live < files {
		y.t.Errorf("live data %d bytes, less than the %d bytes of distinct small files the kept snapshots hold", live, files)
	}
	if float64(written) < 2*float64(live) {
		y.t.Errorf("the year wrote %d bytes, under twice the %d bytes of live data: too little churn for the bound to test anything", written, live)
	}
	if float64(packs) <= 1.5*float64(live) {
		return
	}
	// Explain the excess: how much of it lies in packs a prune would repack.
	res, err := Run(y.t.Context(), r, Options{DryRun: true})
	if err != nil {
		y.t.Fatal(err)
	}
	st := res.Plan.Stats
	y.t.Errorf("the packs hold %d bytes, over 1.5 times the %d bytes of live data; %d packs of %d bytes are to be repacked, "+
		"which would leave about %d bytes (%.2f times the live data)", packs, live, st.Packs[Repack], st.Bytes[Repack],
		packs-st.Bytes[Repack]+st.RepackedBytes, float64(packs-st.Bytes[Repack]+st.RepackedBytes)/float64(live))
}

// smallFileBytes sums the distinct contents of the small files of the kept
// snapshots, by the test's own record: each is one chunk, stored once.
func (y *year) smallFileBytes() int64 {
	var n int64
	seen := map[[32]byte]bool{}
	for _, rec := range y.kept {
		for name, c := range rec {
			if name != treeBig && !seen[c.sum] {
				seen[c.sum] = true
				n += c.size
			}
		}
	}
	return n
}

func (y *year) liveBytes(r *repo.Repo) int64 {
	y.t.Helper()
	ctx := context.Background()
	if err := r.LoadIndex(ctx); err != nil {
		y.t.Fatal(err)
	}
	snaps, _, err := r.LoadSnapshots(ctx)
	if err != nil {
		y.t.Fatal(err)
	}
	used, err := r.UsedBlobs(ctx, snaps)
	if err != nil {
		y.t.Fatal(err)
	}
	var n int64
	for b := range used {
		loc, ok := r.Lookup(b.Type, b.ID)
		if !ok {
			y.t.Fatalf("blob %s in use, and not indexed", b.ID.Short())
		}
		n += int64(loc.Length)
	}
	return n
}

func (y *year) packBytes() int64 {
	y.t.Helper()
	var n int64
	err := y.store.List(context.Background(), remote.Data, func(i remote.Info) error { n += i.Size; return nil })
	if err != nil {
		y.t.Fatal(err)
	}
	return n
}

// countWritten adds the packs not listed before to the bytes written.
func (y *year) countWritten() {
	y.t.Helper()
	err := y.store.List(context.Background(), remote.Data, func(i remote.Info) error {
		y.written[i.Name] = i.Size
		return nil
	})
	if err != nil {
		y.t.Fatal(err)
	}
}
