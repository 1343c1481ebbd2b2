package repo

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"slices"

	"github.com/cairn-backup/cairn/internal/digest"
	"github.com/cairn-backup/cairn/remote"
)

// A snapshot record is named by its hash, so changing its labels (tag) makes a new
// record with a new id. The old id stays named as Previous by the snapshot after it;
// a state object of kind StateReplaced says where it went, so that the hash chain
// still reaches the snapshot through the new record:
//
//	state = "CRNS" ‖ version (0x01) ‖ 0x03 ‖ count uvarint ‖ count × (old id ‖ new id)
//
// Pairs are sorted by old id, at most one per old id, and never old = new, so one set
// of replacements has one encoding.

// StateReplaced is the kind of state objects recording replaced snapshot records.
const StateReplaced StateKind = 3

const pairSize = 2 * digest.Size

// Replacement says that snapshot record Old was replaced by New, the same snapshot
// with other labels.
type Replacement struct {
	Old digest.ID `json:"old"`
	New digest.ID `json:"new"`
}

func comparePairs(a, b Replacement) int { return bytes.Compare(a.Old[:], b.Old[:]) }

// EncodeReplaced returns the plaintext of a state object of kind StateReplaced,
// pairs sorted by old id. It refuses two pairs for one old id, and old = new.
func EncodeReplaced(pairs []Replacement) ([]byte, error) {
	pairs = slices.Clone(pairs)
	slices.SortFunc(pairs, comparePairs)
	b := make([]byte, 0, stateHeader+binary.MaxVarintLen64+len(pairs)*pairSize)
	b = append(b, stateMagic...)
	b = append(b, stateVersion, byte(StateReplaced))
	b = binary.AppendUvarint(b, uint64(len(pairs)))
	for i, p := range pairs {
		if p.Old == p.New {
			return nil, fmt.Errorf("encode replacements: snapshot %s replaced by itself", p.Old.Short())
		}
		if i > 0 && pairs[i-1].Old == p.Old {
			return nil, fmt.Errorf("encode replacements: snapshot %s replaced twice", p.Old.Short())
		}
		b = append(b, p.Old[:]...)
		b = append(b, p.New[:]...)
	}
	return b, nil
}

// DecodeReplaced parses a state object of kind StateReplaced. Errors wrap ErrCorrupt.
func DecodeReplaced(b []byte) ([]Replacement, error) {
	fail := func(format string, args ...any) ([]Replacement, error) {
		return nil, fmt.Errorf("decode replacements: %s: %w", fmt.Sprintf(format, args...), ErrCorrupt)
	}
	switch {
	case len(b) > maxStateSize:
		return fail("%d bytes, above %d", len(b), maxStateSize)
	case len(b) < stateHeader || string(b[:len(stateMagic)]) != stateMagic:
		return fail("bad magic")
	case b[len(stateMagic)] != stateVersion:
		return fail("unknown version %d", b[len(stateMagic)])
	case StateKind(b[len(stateMagic)+1]) != StateReplaced:
		return fail("kind %d, want %d", b[len(stateMagic)+1], StateReplaced)
	}
	n, k := binary.Uvarint(b[stateHeader:])
	rest := b[stateHeader+max(k, 0):]
	switch {
	case k <= 0 || k != len(binary.AppendUvarint(nil, n)):
		return fail("bad count")
	case len(rest)%pairSize != 0 || n != uint64(len(rest)/pairSize):
		return fail("count %d does not match %d bytes of pairs", n, len(rest))
	}
	pairs := make([]Replacement, n)
	for i := range pairs {
		copy(pairs[i].Old[:], rest[i*pairSize:])
		copy(pairs[i].New[:], rest[i*pairSize+digest.Size:])
		switch {
		case pairs[i].Old == pairs[i].New:
			return fail("pair %d replaces a snapshot by itself", i)
		case i > 0 && comparePairs(pairs[i-1], pairs[i]) >= 0:
			return fail("pair %d not after pair %d", i, i-1)
		}
	}
	return pairs, nil
}

// decodeStateObject parses any state object: ids for the kinds that hold a set,
// pairs for StateReplaced.
func decodeStateObject(b []byte) (StateKind, []digest.ID, []Replacement, error) {
	if len(b) >= stateHeader && StateKind(b[len(stateMagic)+1]) == StateReplaced {
		pairs, err := DecodeReplaced(b)
		return StateReplaced, nil, pairs, err
	}
	kind, ids, err := DecodeState(b)
	return kind, ids, nil, err
}

// addReplaced merges pairs into st.Replaced. Two records replacing one snapshot (two
// tag commands at once) keep the lower new id, so every client reads the same map.
func (st *State) addReplaced(pairs []Replacement) {
	for _, p := range pairs {
		if cur, ok := st.Replaced[p.Old]; !ok || bytes.Compare(p.New[:], cur[:]) < 0 {
			st.Replaced[p.Old] = p.New
		}
	}
}

// Resolve follows replacements from id while the record it names is not in present:
// it returns the id the chain reaches (id itself if it is present or was not
// replaced). Cycles, which only a forged state could make, end the walk.
func (st *State) Resolve(id digest.ID, present func(digest.ID) bool) digest.ID {
	for range len(st.Replaced) + 1 {
		if present(id) {
			return id
		}
		next, ok := st.Replaced[id]
		if !ok {
			return id
		}
		id = next
	}
	return id
}

// RecordReplaced records that snapshot records were replaced. Call it after the new
// records are saved and before the old ones are deleted.
func (r *Repo) RecordReplaced(ctx context.Context, pairs []Replacement) error {
	if len(pairs) == 0 {
		return nil
	}
	plain, err := EncodeReplaced(pairs)
	if err != nil {
		return err
	}
	if _, err := r.saveObject(ctx, remote.State, plain); err != nil {
		return fmt.Errorf("record replaced snapshots: %w", err)
	}
	return nil
}

// Rewrite is a snapshot record to save in place of the record Old.
type Rewrite struct {
	Old    digest.ID
	Record []byte
}

// ReplaceSnapshots saves each new record, records every replacement in one state
// object, then deletes the old records, in that order: killed at any instant it
// leaves the old record, the new one, or both, and never a chain with a gap. The
// client's history drops the old ids and remembers the new. It returns the
// replacements made; a record equal to its old one is skipped.
func (r *Repo) ReplaceSnapshots(ctx context.Context, rewrites []Rewrite) ([]Replacement, error) {
	var pairs []Replacement
	for _, rw := range rewrites {
		id, err := r.SaveSnapshot(ctx, rw.Record)
		if err != nil {
			return nil, err
		}
		if id != rw.Old {
			pairs = append(pairs, Replacement{Old: rw.Old, New: id})
		}
	}
	if err := r.RecordReplaced(ctx, pairs); err != nil {
		return nil, err
	}
	var errs []error
	for _, p := range pairs {
		h := remote.Handle{Type: remote.Snapshot, Name: p.Old.String()}
		if err := r.deleteUnlessLocked(ctx, h); err != nil && !errors.Is(err, remote.ErrNotFound) {
			errs = append(errs, fmt.Errorf("delete replaced %s: %w", h, err))
		}
		r.cache.remove(string(remote.Snapshot), h.Name)
	}
	herr := r.updateHistory(func(seen map[digest.ID]bool) {
		for _, p := range pairs {
			delete(seen, p.Old)
			seen[p.New] = true
		}
	})
	return pairs, errors.Join(append(errs, herr)...)
}
