package repo

import (
	"context"
	"errors"
	"fmt"

	"github.com/cairn-backup/cairn/internal/crash"
	"github.com/cairn-backup/cairn/internal/digest"
	"github.com/cairn-backup/cairn/internal/index"
	"github.com/cairn-backup/cairn/remote"
)

// What `cairn repair index` needs beyond the other commands: the segments as they
// are, one at a time (damage as an error of its own segment), and replacing them all
// by segments rebuilt from the packs' headers.

// IndexSegments lists the index segments. Names under index/ that are not segment ids
// come back as damage (ErrCorrupt) beside the ids; a failed listing is an error and
// never an empty result.
func (r *Repo) IndexSegments(ctx context.Context) ([]digest.ID, []error, error) {
	ids, err := r.listIDs(ctx, remote.Index)
	if err != nil && (ids == nil || !errors.Is(err, ErrCorrupt)) {
		return nil, nil, err
	}
	if err != nil {
		return ids, []error{err}, nil
	}
	return ids, nil, nil
}

// SegmentPacks reads and decodes one index segment from the storage (not the cache)
// and returns the packs it names; a segment gone meanwhile names none. Damage fails
// with an error IsIndexDamage recognises.
func (r *Repo) SegmentPacks(ctx context.Context, id digest.ID) ([]digest.ID, error) {
	plain, err := r.loadRemote(ctx, remote.Index, id, index.MaxSegmentSize)
	if errors.Is(err, remote.ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	seg, err := index.DecodeSegment(plain)
	if err != nil {
		return nil, fmt.Errorf("index/%s: %w", id, err)
	}
	packs := make([]digest.ID, len(seg.Packs))
	for i, p := range seg.Packs {
		packs[i] = p.ID
	}
	return packs, nil
}

// IsIndexDamage reports whether err means an index segment's bytes are damaged (as
// opposed to absent or unreachable).
func IsIndexDamage(err error) bool { return isIndexDamage(err) }

// ReplaceIndex writes the packs of headers (those read without error) as new index
// segments, the last one naming old as superseded, and only then deletes the segments
// old. Killed in between, the repository holds both: duplicate entries, never a
// missing one, and the next run (which lists the old and the new segments alike)
// replaces them all. A segment already gone is no error. It returns the segments
// written.
func (r *Repo) ReplaceIndex(ctx context.Context, old []digest.ID, headers []PackHeader) ([]digest.ID, error) {
	packs := make([]index.Pack, 0, len(headers))
	for _, h := range headers {
		if h.Err == nil {
			packs = append(packs, h.pack)
		}
	}
	var written []digest.ID
	for first := true; first || len(packs) > 0; first = false {
		n := segmentBatch(packs)
		seg := &index.Segment{Packs: packs[:n]}
		if n == len(packs) {
			seg.Supersedes = old
		}
		if err := seg.Validate(); err != nil {
			return written, err
		}
		id, err := r.saveObject(ctx, remote.Index, seg.Encode())
		if err != nil {
			return written, fmt.Errorf("repair index: %w", err)
		}
		written = append(written, id)
		packs = packs[n:]
	}
	crash.Point("repair-new-index-written")
	var stale []digest.ID
	for _, id := range old {
		if !containsID(written, id) { // the same packs encode to the same segment
			stale = append(stale, id)
		}
	}
	return written, r.deleteAll(ctx, remote.Index, stale)
}

func containsID(ids []digest.ID, id digest.ID) bool {
	for _, x := range ids {
		if x == id {
			return true
		}
	}
	return false
}
