package repo

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/cairn-backup/cairn/internal/digest"
	"github.com/cairn-backup/cairn/remote"
	"golang.org/x/sync/errgroup"
)

// Mark records (marks/<id>) name packs a prune found unneeded; a later prune deletes
// them once the grace period has passed since the record's own storage time
// (docs/prune.md). They are sealed and named like snapshots and never rewritten.
//
//	mark = "CRNM" ‖ version (0x01) ‖ grace seconds uvarint ‖ count uvarint ‖ count × pack id
//
// Pack ids are sorted ascending without duplicates, so one set has one encoding.

const (
	markMagic   = "CRNM"
	markVersion = 1
	markHeader  = len(markMagic) + 1
	maxMarkSize = 64 << 20 // two million packs: 64 TiB of 32 MiB packs
	// maxGrace bounds a recorded grace period (100 years) so it never overflows.
	maxGrace = 100 * 365 * 24 * time.Hour
)

// MarkRecord is a decoded mark record with its name and the storage's time of it.
type MarkRecord struct {
	ID    digest.ID
	Time  time.Time     // when the storage wrote it (its ModTime)
	Grace time.Duration // the grace period of the prune that wrote it
	Packs []digest.ID
}

// EncodeMark returns the plaintext of a mark record; packs are sorted and deduplicated.
func EncodeMark(grace time.Duration, packs []digest.ID) []byte {
	packs = slices.Clone(packs)
	slices.SortFunc(packs, func(a, b digest.ID) int { return bytes.Compare(a[:], b[:]) })
	packs = slices.Compact(packs)
	b := make([]byte, 0, markHeader+2*binary.MaxVarintLen64+len(packs)*digest.Size)
	b = append(b, markMagic...)
	b = append(b, markVersion)
	b = binary.AppendUvarint(b, uint64(min(max(grace, 0), maxGrace)/time.Second))
	b = binary.AppendUvarint(b, uint64(len(packs)))
	for _, id := range packs {
		b = append(b, id[:]...)
	}
	return b
}

// DecodeMark parses a mark record's plaintext. Errors wrap ErrCorrupt.
func DecodeMark(b []byte) (time.Duration, []digest.ID, error) {
	fail := func(format string, args ...any) (time.Duration, []digest.ID, error) {
		return 0, nil, fmt.Errorf("decode mark: %s: %w", fmt.Sprintf(format, args...), ErrCorrupt)
	}
	switch {
	case len(b) > maxMarkSize:
		return fail("%d bytes, above %d", len(b), maxMarkSize)
	case len(b) < markHeader || string(b[:len(markMagic)]) != markMagic:
		return fail("bad magic")
	case b[len(markMagic)] != markVersion:
		return fail("unknown version %d", b[len(markMagic)])
	}
	rest := b[markHeader:]
	secs, k := binary.Uvarint(rest)
	if k <= 0 || k != len(binary.AppendUvarint(nil, secs)) || secs > uint64(maxGrace/time.Second) {
		return fail("bad grace")
	}
	packs, err := decodeIDList(rest[k:])
	if err != nil {
		return fail("%v", err)
	}
	return time.Duration(secs) * time.Second, packs, nil
}

// SaveMark writes a mark record naming packs.
func (r *Repo) SaveMark(ctx context.Context, grace time.Duration, packs []digest.ID) (digest.ID, error) {
	id, err := r.saveObject(ctx, remote.Mark, EncodeMark(grace, packs))
	if err != nil {
		return id, fmt.Errorf("save mark: %w", err)
	}
	return id, nil
}

// LoadMarks lists and reads every mark record, each with the storage's time of it. A
// failed listing or a record that does not open is an error: nobody may act on marks
// it cannot see (a backup would reuse a marked pack, a prune misjudge one).
func (r *Repo) LoadMarks(ctx context.Context) ([]MarkRecord, error) {
	return r.loadMarksFrom(ctx, r.store.List)
}

// loadMarksFrom is LoadMarks through list.
func (r *Repo) loadMarksFrom(ctx context.Context, list lister) ([]MarkRecord, error) {
	var infos []remote.Info
	err := list(ctx, remote.Mark, func(i remote.Info) error {
		infos = append(infos, i)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("list marks: %w", err)
	}
	keep := make(map[string]bool, len(infos))
	for _, i := range infos {
		keep[i.Name] = true
	}
	r.cache.retain(string(remote.Mark), keep)
	out := make([]MarkRecord, len(infos))
	var mu sync.Mutex
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(8)
	for i, info := range infos {
		g.Go(func() error {
			m, err := r.loadMark(gctx, info)
			mu.Lock()
			defer mu.Unlock()
			if errors.Is(err, remote.ErrNotFound) {
				return nil // a prune removed it after the listing: its packs were gone already

			}
			out[i] = m
			return err
		})
	}
	if err := g.Wait(); err != nil {
		return nil, err
	}
	out = slices.DeleteFunc(out, func(m MarkRecord) bool { return m.ID.IsZero() })
	slices.SortFunc(out, func(a, b MarkRecord) int { return a.Time.Compare(b.Time) })
	return out, nil
}

func (r *Repo) loadMark(ctx context.Context, info remote.Info) (MarkRecord, error) {
	id, err := digest.Parse(info.Name)
	if err != nil {
		return MarkRecord{}, fmt.Errorf("marks/%s: not an id: %w", info.Name, ErrCorrupt)
	}
	plain, err := r.loadObject(ctx, remote.Mark, id, maxMarkSize)
	if err != nil {
		return MarkRecord{}, err
	}
	grace, packs, err := DecodeMark(plain)
	if err != nil {
		return MarkRecord{}, fmt.Errorf("marks/%s: %w", id, err)
	}
	return MarkRecord{ID: id, Time: info.ModTime, Grace: grace, Packs: packs}, nil
}

// DeleteMark removes a mark record once none of its packs exists.
func (r *Repo) DeleteMark(ctx context.Context, id digest.ID) error {
	h := remote.Handle{Type: remote.Mark, Name: id.String()}
	if err := r.store.Delete(ctx, h); err != nil {
		return fmt.Errorf("delete %s: %w", h, err)
	}
	r.cache.remove(string(remote.Mark), id.String())
	return nil
}
