package repo

import (
	"context"
	"fmt"

	"github.com/cairn-backup/cairn/internal/digest"
	"github.com/cairn-backup/cairn/internal/index"
	"github.com/cairn-backup/cairn/remote"
)

// An index segment whose cached copy opens but has another size than the copy the
// storage lists was stored damaged: a server that acknowledged a PUT while keeping a
// prefix, whose backup then failed its check and exited without a snapshot. The cached
// copy is the segment whole (its name is the hash of its plaintext, and it opens), so
// the index is loaded from it and the next write session stores it again, checked with
// its own uploads before its snapshot relies on any blob the segment lists. Without
// this, the cache hid the damage from every later backup on this host, which reused
// the segment's blobs while a new machine could not find them.

// shortSegment is a segment to store again from its cached copy.
type shortSegment struct {
	id     digest.ID
	stored int64 // the size the storage lists
	sealed []byte
}

// loadListedSegment loads segment id, which the storage lists at size bytes (-1:
// unknown), preferring a cached copy of the same size.
func (r *Repo) loadListedSegment(ctx context.Context, id digest.ID, size int64) (*index.Segment, error) {
	sealed, ok := r.cache.get(string(remote.Index), id.String())
	if !ok || size < 0 || int64(len(sealed)) == size {
		return r.loadSegment(ctx, id)
	}
	if plain, err := r.openObject(remote.Index, id, sealed); err == nil {
		if seg, err := index.DecodeSegment(plain); err == nil {
			r.damageMu.Lock()
			r.short = append(r.short, shortSegment{id: id, stored: size, sealed: sealed})
			r.damageMu.Unlock()
			return seg, nil
		}
	}
	r.cache.remove(string(remote.Index), id.String()) // the cached copy is damaged
	return r.loadSegment(ctx, id)
}

// takeShort returns the segments to store again, once.
func (r *Repo) takeShort() []shortSegment {
	r.damageMu.Lock()
	defer r.damageMu.Unlock()
	s := r.short
	r.short = nil
	return s
}

// storeShortAgain writes again the segments found stored short; with a Confirmer they
// are checked by the session's next Confirm, before a snapshot can rely on them.
func (s *Writer) storeShortAgain(ctx context.Context) error {
	short := s.r.takeShort()
	for i, sg := range short {
		h := remote.Handle{Type: remote.Index, Name: sg.id.String()}
		var err error
		if s.conf == nil {
			err = s.r.store.Put(ctx, h, remote.Bytes(sg.sealed))
		} else {
			var sent remote.Sent
			if sent, err = s.conf.PutUnconfirmed(ctx, h, remote.Bytes(sg.sealed)); err == nil {
				s.mu.Lock()
				s.sentSegs = append(s.sentSegs, sentSegment{sent: sent, sealed: sg.sealed})
				s.mu.Unlock()
			}
		}
		if err != nil {
			s.r.damageMu.Lock()
			s.r.short = append(s.r.short, short[i:]...) // a later session tries again
			s.r.damageMu.Unlock()
			return fmt.Errorf("store again index segment %s, found stored short: %w", sg.id.Short(), err)
		}
		s.r.damageMu.Lock()
		s.r.healed = append(s.r.healed, fmt.Sprintf("index segment %s was stored damaged (%d of %d bytes); stored again from this host's cache",
			sg.id.Short(), sg.stored, len(sg.sealed)))
		s.r.damageMu.Unlock()
	}
	return nil
}

// Healed says what this process stored again because the storage held it damaged.
func (r *Repo) Healed() []string {
	r.damageMu.Lock()
	defer r.damageMu.Unlock()
	return append([]string(nil), r.healed...)
}
