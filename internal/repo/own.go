package repo

import (
	"context"
	"fmt"
	"sync"

	"github.com/cairn-backup/cairn/internal/digest"
	"github.com/cairn-backup/cairn/internal/index"
)

// A backup stopped for longer than a prune's grace period (SIGSTOP, a suspended
// laptop) may find that a prune took the packs it uploaded for a crash's leftovers and
// deleted them. Its check after writing (CheckReuse) then refuses the snapshot if it
// uses them, and takes them out of the index segments the run wrote, so that no
// segment names a pack that is gone: every later prune would refuse to run, and verify
// would report damage.

// ownPacks is what a backup wrote: its packs, and its index segments with the packs
// each names.
type ownPacks struct {
	mu    sync.Mutex
	packs map[digest.ID]bool
	segs  map[digest.ID][]digest.ID
}

// wrotePack records a pack this process uploaded.
func (r *Repo) wrotePack(id digest.ID) {
	if r.stored == nil {
		return
	}
	o := &r.stored.own
	o.mu.Lock()
	defer o.mu.Unlock()
	o.packs[id] = true
}

// wroteSegment records an index segment this process wrote.
func (r *Repo) wroteSegment(id digest.ID, seg *index.Segment) {
	if r.stored == nil {
		return
	}
	o := &r.stored.own
	o.mu.Lock()
	defer o.mu.Unlock()
	for _, p := range seg.Packs {
		o.segs[id] = append(o.segs[id], p.ID)
	}
}

// gone returns the packs this process wrote that the listing packs lacks.
func (o *ownPacks) gone(packs map[digest.ID]PackInfo) map[digest.ID]bool {
	o.mu.Lock()
	defer o.mu.Unlock()
	out := map[digest.ID]bool{}
	for id := range o.packs {
		if _, ok := packs[id]; !ok {
			out[id] = true
		}
	}
	return out
}

// dropLost rewrites the index segments this process wrote that name a pack in lost,
// without those packs.
func (r *Repo) dropLost(ctx context.Context, lost map[digest.ID]bool) error {
	o := &r.stored.own
	o.mu.Lock()
	var segs []digest.ID
	for seg, packs := range o.segs {
		for _, p := range packs {
			if lost[p] {
				segs = append(segs, seg)
				delete(o.segs, seg)
				break
			}
		}
	}
	o.mu.Unlock()
	if len(segs) == 0 {
		return nil
	}
	if err := r.RewriteIndex(ctx, segs, lost); err != nil {
		return fmt.Errorf("a prune deleted packs this backup wrote; taking them out of its index segments failed (run 'cairn repair index'): %w", err)
	}
	return nil
}
