// Package verify is the verify engine: it checks that a repository holds what its
// snapshots need, reports exactly which files of which snapshots any damage affects,
// and compares a live directory with a snapshot by their Merkle roots (Against).
//
// The structure check lists data/ once, loads the index, reads every snapshot record
// and checks their hash chains against what this client saw before, then walks every
// distinct manifest node from tree packs read from the storage. Reading data reads
// whole packs and opens every blob. A fault that a second read cures is not damage.
package verify

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"sync/atomic"
	"time"

	"github.com/cairn-backup/cairn/internal/digest"
	"github.com/cairn-backup/cairn/internal/repo"
	"golang.org/x/sync/errgroup"
)

// ErrDamage is returned, with the report, when verify found damage.
var ErrDamage = errors.New("the repository is damaged")

// ErrIncomplete is returned, with the report, when no damage was found but the
// storage kept failing to return some objects, so they could not be checked.
var ErrIncomplete = errors.New("some objects could not be read")

// ErrPartial is returned, with the Comparison, when Against could not read some live
// files (each is in Comparison.Unreadable); everything else was compared.
var ErrPartial = errors.New("some live files could not be read")

// Options select what verify reads.
type Options struct {
	ReadData      bool             // read every pack (or those Subset or SinceLast select)
	Subset        *Subset          // with ReadData: read only these packs
	SinceLast     bool             // read only packs no earlier clean verify read (implies ReadData); with Subset, those and the subset
	AcceptHistory bool             // take the snapshots present as the history this client remembers
	Grace         time.Duration    // age from which a pack no index names is a leftover; 0: DefaultGrace
	Now           func() time.Time // the clock leftovers are aged by; nil: time.Now
	Workers       int              // packs read at once; 0: GOMAXPROCS, at most 4 (each opens its blobs on every core)
	Progress      *Progress
}

// Progress counts what has been done, for a progress display.
type Progress struct {
	PacksTotal, PacksDone atomic.Int64
	BytesTotal, BytesRead atomic.Int64
}

// Run verifies the repository. It returns the report and ErrDamage, ErrIncomplete or
// nil; other errors (a failed listing, a cancelled context) come without a report.
func Run(ctx context.Context, r *repo.Repo, opts Options) (*Report, error) {
	if opts.Progress == nil {
		opts.Progress = &Progress{}
	}
	v := &run{r: r, opts: opts, rec: newRecorder(), rep: &Report{}}
	if opts.ReadData || opts.SinceLast {
		defer r.Reading(ctx, "verify")()
	}
	if err := v.prepare(ctx); err != nil {
		return nil, err
	}
	if err := v.check(ctx); err != nil {
		return nil, err
	}
	if err := v.coverage(ctx); err != nil {
		return nil, err
	}
	v.rec.fill(v.rep)
	v.reportHidden()
	v.finish(ctx)
	// Empty lists, not null, for readers of the JSON report.
	v.rep.Affected = nonNil(v.rep.Affected)
	v.rep.Unreferenced = nonNil(v.rep.Unreferenced)
	return v.rep, verdict(v.rep)
}

// run is one verify in progress.
type run struct {
	r      *repo.Repo
	opts   Options
	rec    *recorder
	rep    *Report
	snaps  []repo.Snapshot
	ids    map[digest.ID]bool // every snapshot listed, damaged ones too
	state  *repo.State
	packs  *packTable
	read   []digest.ID // packs to read
	whole  []digest.ID // packs read and found whole
	pruned []digest.ID // indexed packs a prune deleted before data/ was listed (judgeMissing)
}

// prepare checks snapshots and their chains, loads the index and lists the packs.
func (v *run) prepare(ctx context.Context) error {
	var err error
	if v.snaps, v.ids, err = loadSnapshots(ctx, v.r, v.rec); err != nil {
		return err
	}
	if v.state, err = v.r.LoadState(ctx); err != nil {
		return err
	}
	for _, e := range v.state.Damaged {
		v.rec.warning(StoreDamaged, "state", e.Error())
	}
	h := history{snaps: v.snaps, listed: v.ids, forgotten: v.state.Forgotten, replaced: v.state.Replaced}
	if !v.opts.AcceptHistory {
		if h.seen, err = v.r.SeenSnapshots(); err != nil {
			return err
		}
	}
	v.rep.Snapshots, v.rep.Groups = len(v.snaps), checkChains(h, v.rec)
	damaged, err := v.r.LoadIndexReport(ctx)
	if err != nil {
		return err
	}
	for _, e := range damaged {
		v.rec.problem(IndexDamaged, "index", e.Error())
	}
	var unindexed []Unreferenced
	a := v.ages()
	if v.packs, unindexed, err = listPacks(ctx, v.r, v.rec, a); err != nil {
		return err
	}
	if err := a.temp(ctx, v.r); err != nil {
		return err
	}
	if err := v.judgeMissing(ctx); err != nil {
		return err
	}
	v.rep.Unreferenced = unindexed
	v.read, v.rep.Selection = v.selectPacks()
	v.rep.Packs = len(v.packs.indexed())
	return nil
}

// selectPacks returns the packs to read and says which they are.
func (v *run) selectPacks() ([]digest.ID, string) {
	all := v.packs.indexed()
	switch {
	case v.opts.SinceLast && v.opts.Subset != nil:
		// A nightly job's verify: the new packs and the day's slice, in one pass.
		slice := map[digest.ID]bool{}
		for _, id := range v.opts.Subset.pick(all) {
			slice[id] = true
		}
		var out []digest.ID
		for _, id := range all {
			if !v.state.Verified[id] || slice[id] {
				out = append(out, id)
			}
		}
		return out, fmt.Sprintf("packs added since the last verify and %s (%d of %d)", v.opts.Subset, len(out), len(all))
	case v.opts.SinceLast:
		var out []digest.ID
		for _, id := range all {
			if !v.state.Verified[id] {
				out = append(out, id)
			}
		}
		return out, fmt.Sprintf("packs added since the last verify (%d of %d)", len(out), len(all))
	case !v.opts.ReadData:
		return nil, ""
	case v.opts.Subset != nil:
		out := v.opts.Subset.pick(all)
		return out, fmt.Sprintf("%s (%d of %d)", v.opts.Subset, len(out), len(all))
	}
	return all, "all packs"
}

// check walks the trees and reads the selected packs at once, then maps bad blobs to
// the files they break.
func (v *run) check(ctx context.Context) error {
	var bytesRead atomic.Int64
	f := &fetcher{r: v.r, rec: v.rec, packs: v.packs, bytes: func(n int) {
		bytesRead.Add(int64(n))
		v.opts.Progress.BytesRead.Add(int64(n))
	}}
	rd := v.reader(f)
	src := &treeSource{r: v.r, f: f, rec: v.rec, packs: v.packs, rd: rd}
	w := newWalker(src, v.rec)
	g, gctx := errgroup.WithContext(ctx)
	g.Go(func() error { return w.snapshots(gctx, v.snaps) })
	g.Go(func() error { return v.readData(gctx, rd) })
	if err := g.Wait(); err != nil {
		return err
	}
	if rd != nil {
		v.whole = rd.whole // complete only now: the walk checks tree packs too
	}
	if err := v.judgeVanished(ctx, f, !w.partial && len(v.snaps) > 0); err != nil {
		return err
	}
	v.rep.Trees, v.rep.Files, v.rep.BytesRead = w.trees, w.files, bytesRead.Load()
	if !w.partial && len(v.snaps) > 0 {
		v.rep.Unreferenced = append(v.rep.Unreferenced, v.packs.unused()...)
	}
	if !v.rec.anyBad() {
		return nil
	}
	m := newMapper(w)
	if err := m.snapshots(ctx, v.snaps); err != nil {
		return err
	}
	v.rep.Affected = m.out
	return nil
}

// reader sets up reading the selected packs (nil if none).
func (v *run) reader(f *fetcher) *reader {
	if len(v.read) == 0 {
		return nil
	}
	p := v.opts.Progress
	p.PacksTotal.Store(int64(len(v.read)))
	for _, id := range v.read {
		info, _ := v.packs.get(id)
		p.BytesTotal.Add(max(info.listed, 0))
	}
	return newReader(v.r, f, v.rec, v.read, func() { p.PacksDone.Add(1) })
}

func (v *run) readData(ctx context.Context, rd *reader) error {
	if rd == nil {
		return nil
	}
	workers := v.opts.Workers
	if workers <= 0 {
		workers = min(runtime.GOMAXPROCS(0), 4) // memory: this many packs
	}
	err := rd.run(ctx, v.read, workers)
	v.rep.PacksRead = len(v.read)
	if err == nil {
		rd.mu.Lock()
		err = rd.err
		rd.mu.Unlock()
	}
	return err
}

// reportHidden warns of every object read through delete markers or forged bytes.
func (v *run) reportHidden() {
	for _, h := range v.r.Hidden() {
		detail := fmt.Sprintf("hidden by %d delete markers and %d forged versions; the version locked until %s was read",
			len(h.Markers), len(h.Forged), h.Until.UTC().Format(time.RFC3339))
		v.rep.Warnings = append(v.rep.Warnings, Problem{Kind: Hidden, Object: h.Handle.String(), Detail: detail})
	}
}

// finish records, after a clean run, the snapshots seen and the packs read whole.
func (v *run) finish(ctx context.Context) {
	clean := verdict(v.rep) == nil
	ids := make([]digest.ID, 0, len(v.ids))
	for id := range v.ids {
		ids = append(ids, id)
	}
	if clean || v.opts.AcceptHistory {
		if err := v.rememberHistory(ids); err != nil {
			v.rep.Warnings = append(v.rep.Warnings, Problem{Kind: NotSaved, Object: "snapshot history", Detail: err.Error()})
		}
	}
	if !clean || len(v.read) == 0 {
		return
	}
	keep := v.whole
	for _, id := range v.packs.indexed() {
		if v.state.Verified[id] {
			keep = append(keep, id) // still indexed: still worth not reading again
		}
	}
	if err := v.r.SaveVerified(ctx, v.state, keep); err != nil {
		v.rep.Warnings = append(v.rep.Warnings, Problem{Kind: NotSaved, Object: "verify state", Detail: err.Error()})
		return
	}
	v.rep.StateSaved = true
}

// rememberHistory makes the snapshots present the ones this client remembers: it adds
// them, and drops those gone on purpose (forget), replaced (tag) or, if asked, gone at all.
func (v *run) rememberHistory(ids []digest.ID) error {
	seen, err := v.r.SeenSnapshots()
	if err != nil {
		return err
	}
	var gone []digest.ID
	for _, id := range seen {
		_, replaced := v.state.Replaced[id]
		if !v.ids[id] && (v.opts.AcceptHistory || v.state.Forgotten[id] || replaced) {
			gone = append(gone, id)
		}
	}
	if err := v.r.DropSeenSnapshots(gone); err != nil {
		return err
	}
	return v.r.RememberSnapshots(ids)
}

func nonNil[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}

func verdict(rep *Report) error {
	n, unreadable := 0, 0
	for _, p := range rep.Problems {
		if p.Damage {
			n++
		} else {
			unreadable++
		}
	}
	switch {
	case n > 0:
		return fmt.Errorf("%w: %d problems, %d files or directories affected", ErrDamage, n, len(rep.Affected))
	case unreadable > 0:
		return fmt.Errorf("%w: %d objects", ErrIncomplete, unreadable)
	}
	return nil
}
