package repo

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/cairn-backup/cairn/internal/crash"
	"github.com/cairn-backup/cairn/internal/digest"
	"github.com/cairn-backup/cairn/internal/index"
	"github.com/cairn-backup/cairn/remote"
)

// What prune needs beyond the other commands (docs/prune.md): every index entry with
// the segment it came from, the packs with the storage's times, rewriting the segments
// that name deleted packs, and deleting packs.

// IndexEntry is one entry of an index segment.
type IndexEntry struct {
	Pack   digest.ID
	Type   BlobType
	ID     digest.ID
	Offset uint32
	Length uint32
}

// IndexEntries reads every index segment from the storage and returns their ids and
// all their entries, duplicates included. Unlike LoadIndex it fails on the first
// damaged segment: prune must not decide on a partial index.
func (r *Repo) IndexEntries(ctx context.Context) ([]digest.ID, []IndexEntry, map[digest.ID][]digest.ID, error) {
	ids, err := r.listIDs(ctx, remote.Index)
	if err != nil {
		return nil, nil, nil, err
	}
	var (
		mu      sync.Mutex
		entries []IndexEntry
		packsOf = make(map[digest.ID][]digest.ID, len(ids)) // segment → its packs
	)
	err = r.eachSegment(ctx, ids, func(_ context.Context, id digest.ID, seg *index.Segment) error {
		es, packs := flatten(seg)
		mu.Lock()
		defer mu.Unlock()
		entries = append(entries, es...)
		packsOf[id] = packs
		return nil
	})
	if err != nil {
		return nil, nil, nil, err
	}
	return ids, entries, packsOf, nil
}

func (r *Repo) loadSegment(ctx context.Context, id digest.ID) (*index.Segment, error) {
	plain, err := r.loadObject(ctx, remote.Index, id, index.MaxSegmentSize)
	if err != nil {
		return nil, err
	}
	seg, err := index.DecodeSegment(plain)
	if err != nil {
		return nil, fmt.Errorf("index/%s: %w", id, err)
	}
	return seg, nil
}

func flatten(seg *index.Segment) ([]IndexEntry, []digest.ID) {
	var es []IndexEntry
	packs := make([]digest.ID, 0, len(seg.Packs))
	for _, p := range seg.Packs {
		packs = append(packs, p.ID)
		for _, b := range p.Blobs {
			es = append(es, IndexEntry{Pack: p.ID, Type: b.Type, ID: b.ID, Offset: b.Offset, Length: b.Length})
		}
	}
	return es, packs
}

// PackInfo is a pack as the storage lists it.
type PackInfo struct {
	Size    int64
	ModTime time.Time
}

// PackInfos lists data/ once. Names that are not pack ids are left out (no prune step
// touches them); a failed listing is an error, never an empty result.
func (r *Repo) PackInfos(ctx context.Context) (map[digest.ID]PackInfo, error) {
	return r.packInfosFrom(ctx, r.store.List)
}

// packInfosFrom is PackInfos through list.
func (r *Repo) packInfosFrom(ctx context.Context, list lister) (map[digest.ID]PackInfo, error) {
	out := map[digest.ID]PackInfo{}
	err := list(ctx, remote.Data, func(i remote.Info) error {
		if id, err := digest.Parse(i.Name); err == nil {
			out[id] = PackInfo{Size: i.Size, ModTime: i.ModTime}
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("list data: %w", err)
	}
	return out, nil
}

// RewriteIndex replaces the segments segs, which name some of the packs in drop, by
// new segments without those packs, then deletes segs. The new segments are written
// first, the last of them naming segs as superseded, so that a prune killed in between
// leaves duplicate entries and never a missing one. A segment already gone (another
// prune rewrote it) is no error.
func (r *Repo) RewriteIndex(ctx context.Context, segs []digest.ID, drop map[digest.ID]bool) error {
	var keep []index.Pack
	for _, id := range segs {
		seg, err := r.loadSegment(ctx, id)
		if errors.Is(err, remote.ErrNotFound) {
			continue
		}
		if err != nil {
			return err
		}
		for _, p := range seg.Packs {
			if !drop[p.ID] {
				keep = append(keep, p)
			}
		}
	}
	for first := true; first || len(keep) > 0; first = false {
		n := segmentBatch(keep)
		seg := &index.Segment{Packs: keep[:n]}
		if n == len(keep) {
			seg.Supersedes = segs
		}
		if err := seg.Validate(); err != nil {
			return err
		}
		if _, err := r.saveObject(ctx, remote.Index, seg.Encode()); err != nil {
			return fmt.Errorf("rewrite index: %w", err)
		}
		keep = keep[n:]
	}
	crash.Point("prune-new-index-written")
	return r.deleteAll(ctx, remote.Index, segs)
}

// DeletePacks deletes packs, in batches where the store can (S3 DeleteObjects). A pack
// already gone is no error.
func (r *Repo) DeletePacks(ctx context.Context, packs []digest.ID) error {
	return r.deleteAll(ctx, remote.Data, packs)
}

func (r *Repo) deleteAll(ctx context.Context, t remote.Type, ids []digest.ID) error {
	names := make([]string, len(ids))
	for i, id := range ids {
		names[i] = id.String()
	}
	names, err := r.unlocked(ctx, t, names)
	if err != nil {
		return fmt.Errorf("delete %s: %w", t, err)
	}
	if err := remote.DeleteMany(ctx, r.store, t, names); err != nil {
		return fmt.Errorf("delete %s: %w", t, err)
	}
	for _, name := range names {
		switch {
		case cacheable(t):
			r.cache.remove(string(t), name)
		case t == remote.Data:
			r.cache.remove("packs", name) // tree packs are cached whole
		}
	}
	return nil
}
