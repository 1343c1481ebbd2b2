package prune

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/cairn-backup/cairn/internal/digest"
	"github.com/cairn-backup/cairn/internal/repo"
)

// Defaults of the prune flags.
const (
	DefaultGrace     = 24 * time.Hour
	DefaultMaxUnused = 0.05
	// MinGrace is the shortest grace period accepted: longer than the storage's time
	// resolution (a second on S3) with room to spare (docs/prune.md).
	MinGrace = repo.MinGrace
)

// Options are the flags of `cairn prune`.
type Options struct {
	Grace      time.Duration // 0 means DefaultGrace
	MaxUnused  float64       // share of the data left unused; negative means DefaultMaxUnused
	MaxRepack  int64         // bytes; 0 means no limit
	DryRun     bool          // plan only
	AllowEmpty bool          // accept a repository with no snapshot at all
}

// Result is what a prune found and did.
type Result struct {
	Plan      *Plan
	Snapshots int
	Deleted   []digest.ID // packs deleted
	Freed     int64       // bytes of the deleted packs
	AtOnce    bool        // packs marked by this run were deleted in it too
	Marked    int         // packs marked by this run
	Repacked  int         // packs whose used blobs were copied into new packs
	Segments  int         // index segments rewritten
	TempFiles int         // temporary files of interrupted writes removed
	TempFreed int64       // their bytes
}

// Run prunes r by the protocol of docs/prune.md. Every step that lists something
// stops the prune on a failed or doubtful listing, before anything is deleted.
func Run(ctx context.Context, r *repo.Repo, opts Options) (*Result, error) {
	opts = opts.withDefaults()
	if !opts.DryRun {
		if err := r.CheckDelete(ctx); err != nil {
			return nil, err // keys that may not delete: before any pack is written
		}
	}
	note, err := r.StartRun(ctx, "prune")
	if err != nil {
		return nil, err
	}
	defer note.End(context.WithoutCancel(ctx)) //nolint:errcheck // a note left behind only ages
	now, err := note.StorageTime(ctx)
	if err != nil {
		return nil, err
	}
	p := &run{r: r, opts: opts, note: note, now: now}
	return p.run(ctx)
}

func (o Options) withDefaults() Options {
	if o.Grace == 0 {
		o.Grace = DefaultGrace
	}
	o.Grace = max(o.Grace, MinGrace)
	if o.MaxUnused < 0 {
		o.MaxUnused = DefaultMaxUnused
	}
	return o
}

type run struct {
	r     *repo.Repo
	opts  Options
	note  *repo.RunNote
	now   time.Time // the storage's time at the start
	snaps []repo.Snapshot
	segs  []digest.ID
	segOf map[digest.ID][]digest.ID // segment → packs it names
	res   Result
}

func (p *run) run(ctx context.Context) (*Result, error) {
	in, err := p.look(ctx)
	if err != nil {
		return nil, err
	}
	plan, err := Make(in)
	if err != nil {
		return nil, err
	}
	p.res.Plan, p.res.Snapshots = plan, len(p.snaps)
	if p.opts.DryRun {
		return &p.res, nil
	}
	if err := p.apply(ctx, plan, in); err != nil {
		return &p.res, err
	}
	return &p.res, nil
}

// look gathers what the decision needs (docs/prune.md steps 1 to 6).
func (p *run) look(ctx context.Context) (Input, error) {
	in := Input{Now: p.now, Grace: p.opts.Grace, MaxUnused: p.opts.MaxUnused, MaxRepack: p.opts.MaxRepack}
	snaps, err := trustedSnapshots(ctx, p.r)
	if err != nil {
		return in, err
	}
	p.snaps = snaps
	segs, entries, segOf, err := p.r.IndexEntries(ctx)
	if err != nil {
		return in, fmt.Errorf("load index: %w (run 'cairn verify' to see which segment)", err)
	}
	p.segs, p.segOf = segs, segOf
	if len(snaps) == 0 && len(entries) > 0 && !p.opts.AllowEmpty {
		return in, fmt.Errorf("%w: no snapshot was listed, but the index names %d blobs; if every snapshot was forgotten on purpose, run prune --allow-empty",
			ErrUntrusted, len(entries))
	}
	listed, err := p.r.PackInfos(ctx)
	if err != nil {
		return in, err
	}
	marks, err := p.r.LoadMarks(ctx)
	if err != nil {
		return in, err
	}
	used, err := p.r.UsedBlobs(ctx, snaps)
	if err != nil {
		return in, fmt.Errorf("read the trees of the kept snapshots: %w", err)
	}
	in.Packs, in.Entries, in.Marks, in.Used = packsOf(listed, entries), entriesOf(entries), marksOf(marks), used
	return in, nil
}

// trustedSnapshots lists and loads every snapshot, and refuses a listing it cannot
// trust (RELIABILITY 6): a failure; a record that does not load; a snapshot this
// client saw before, or one a listed snapshot names as its previous, that is gone
// without a record of forget or tag. The chain check catches a listing cut short on a
// client that has no history of the repository (a new host); only the newest
// snapshots of chains can hide from it.
func trustedSnapshots(ctx context.Context, r *repo.Repo) ([]repo.Snapshot, error) {
	snaps, bad, err := r.LoadSnapshots(ctx)
	if err != nil {
		return nil, fmt.Errorf("%w: list snapshots: %w", ErrUntrusted, err)
	}
	if len(bad) > 0 {
		return nil, fmt.Errorf("%w: %d snapshot records could not be read: %w", ErrUntrusted, len(bad), errors.Join(bad...))
	}
	gone, err := unlisted(r, snaps)
	if err != nil || len(gone) == 0 {
		return snaps, err
	}
	st, err := r.LoadState(ctx)
	if err != nil {
		return nil, err
	}
	for id, why := range gone {
		if _, replaced := st.Replaced[id]; !st.Forgotten[id] && !replaced {
			return nil, fmt.Errorf("%w: snapshot %s, %s, is not listed and was not forgotten (a cut-short listing or a rolled-back repository; run 'cairn verify')",
				ErrUntrusted, id.Short(), why)
		}
	}
	return snaps, nil
}

// unlisted returns the snapshots that should be there but are not listed: those this
// client saw, and those listed snapshots name as their previous.
func unlisted(r *repo.Repo, snaps []repo.Snapshot) (map[digest.ID]string, error) {
	seen, err := r.SeenSnapshots()
	if err != nil {
		return nil, err
	}
	listed := make(map[digest.ID]bool, len(snaps))
	for _, s := range snaps {
		listed[s.ID] = true
	}
	gone := map[digest.ID]string{}
	for _, id := range seen {
		if !listed[id] {
			gone[id] = "seen before"
		}
	}
	for _, s := range snaps {
		if s.Previous != nil && !listed[*s.Previous] {
			gone[*s.Previous] = "the previous snapshot of " + s.ID.Short()
		}
	}
	return gone, nil
}

func packsOf(listed map[digest.ID]repo.PackInfo, entries []repo.IndexEntry) map[digest.ID]Pack {
	out := make(map[digest.ID]Pack, len(listed))
	for id, pi := range listed {
		out[id] = Pack{Size: pi.Size, ModTime: pi.ModTime}
	}
	for _, e := range entries {
		if pk, ok := out[e.Pack]; ok && !pk.Indexed {
			pk.Indexed = true
			out[e.Pack] = pk
		}
	}
	return out
}

func entriesOf(es []repo.IndexEntry) []Entry {
	out := make([]Entry, len(es))
	for i, e := range es {
		out[i] = Entry{Pack: e.Pack, Blob: Blob{Type: e.Type, ID: e.ID}, Offset: uint64(e.Offset), Length: e.Length}
	}
	return out
}

func marksOf(ms []repo.MarkRecord) []Mark {
	out := make([]Mark, len(ms))
	for i, m := range ms {
		out[i] = Mark{ID: m.ID, Time: m.Time, Grace: m.Grace, Packs: m.Packs}
	}
	return out
}
