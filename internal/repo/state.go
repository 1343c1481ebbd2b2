package repo

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"slices"
	"sync"

	"github.com/cairn-backup/cairn/internal/digest"
	"github.com/cairn-backup/cairn/remote"
	"golang.org/x/sync/errgroup"
)

// State objects (state/<id>) are sealed records of what was done to the repository
// that readers cannot infer from it: the packs a verify read and found whole (so that
// the next `verify --since-last` reads only newer ones) and the snapshots forget
// removed on purpose (so that verify tells a pruned history from a damaged one). They
// are sealed and named like snapshots, so the storage can delete them, which costs
// only more verifying or a reported gap, but cannot forge them.
//
//	state = "CRNS" ‖ version (0x01) ‖ kind (1 byte) ‖ count uvarint ‖ count × id
//	kind  = 1: packs verified whole; 2: snapshots forgotten on purpose
//	        (3: snapshot records replaced, which holds pairs: replace.go)
//
// ids are sorted ascending without duplicates, so one set has one encoding.

const (
	stateMagic   = "CRNS"
	stateVersion = 1
	stateHeader  = len(stateMagic) + 2
	maxStateSize = 64 << 20 // two million ids
)

// StateKind says what the ids of a state object are.
type StateKind byte

// The kinds of state objects.
const (
	StateVerified  StateKind = 1 // packs a verify read and found whole
	StateForgotten StateKind = 2 // snapshots forget removed on purpose
)

// EncodeState returns the plaintext of a state object; ids are sorted and deduplicated.
func EncodeState(kind StateKind, ids []digest.ID) []byte {
	ids = slices.Clone(ids)
	slices.SortFunc(ids, func(a, b digest.ID) int { return bytes.Compare(a[:], b[:]) })
	ids = slices.Compact(ids)
	b := make([]byte, 0, stateHeader+binary.MaxVarintLen64+len(ids)*digest.Size)
	b = append(b, stateMagic...)
	b = append(b, stateVersion, byte(kind))
	b = binary.AppendUvarint(b, uint64(len(ids)))
	for _, id := range ids {
		b = append(b, id[:]...)
	}
	return b
}

// DecodeState parses a state object's plaintext. Errors wrap ErrCorrupt.
func DecodeState(b []byte) (StateKind, []digest.ID, error) {
	fail := func(format string, args ...any) (StateKind, []digest.ID, error) {
		return 0, nil, fmt.Errorf("decode state: %s: %w", fmt.Sprintf(format, args...), ErrCorrupt)
	}
	switch {
	case len(b) > maxStateSize:
		return fail("%d bytes, above %d", len(b), maxStateSize)
	case len(b) < stateHeader || string(b[:len(stateMagic)]) != stateMagic:
		return fail("bad magic")
	case b[len(stateMagic)] != stateVersion:
		return fail("unknown version %d", b[len(stateMagic)])
	}
	kind := StateKind(b[len(stateMagic)+1])
	if kind != StateVerified && kind != StateForgotten {
		return fail("unknown kind %d", kind)
	}
	ids, err := decodeIDList(b[stateHeader:])
	if err != nil {
		return fail("%v", err)
	}
	return kind, ids, nil
}

// State is what the state objects of a repository record together.
type State struct {
	Verified  map[digest.ID]bool      // packs found whole by an earlier verify
	Forgotten map[digest.ID]bool      // snapshots removed on purpose
	Replaced  map[digest.ID]digest.ID // snapshot records replaced (tag): old → new
	Damaged   []error                 // state objects that did not open or decode
	verified  []digest.ID             // objects of kind StateVerified, replaced by the next save
}

// LoadState reads every state object. Damaged ones are reported in State.Damaged and
// otherwise ignored: losing one costs a verify some rereading, nothing else. One that
// was listed and is gone when read was replaced meanwhile by a verify on another
// client (SaveVerified) and is skipped: only verified-pack objects are ever deleted,
// and a forgotten-snapshot record that went missing shows as a gap in the history,
// which the history check reports.
func (r *Repo) LoadState(ctx context.Context) (*State, error) {
	ids, err := r.listIDs(ctx, remote.State)
	st := &State{Verified: map[digest.ID]bool{}, Forgotten: map[digest.ID]bool{}, Replaced: map[digest.ID]digest.ID{}}
	if err != nil && !errors.Is(err, ErrCorrupt) {
		return nil, err
	}
	if err != nil {
		st.Damaged = append(st.Damaged, err)
	}
	var mu sync.Mutex
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(4)
	for _, id := range ids {
		g.Go(func() error {
			plain, err := r.loadRemote(gctx, remote.State, id, maxStateSize)
			if errors.Is(err, remote.ErrNotFound) {
				return nil // replaced since the listing
			}
			var kind StateKind
			var set []digest.ID
			var pairs []Replacement
			if err == nil {
				kind, set, pairs, err = decodeStateObject(plain)
			}
			mu.Lock()
			defer mu.Unlock()
			st.addReplaced(pairs)
			return st.add(id, kind, set, err)
		})
	}
	if err := g.Wait(); err != nil {
		return nil, err
	}
	return st, nil
}

func (st *State) add(id digest.ID, kind StateKind, set []digest.ID, err error) error {
	switch {
	case err != nil && !IsDamage(err):
		return err
	case err != nil:
		st.Damaged = append(st.Damaged, fmt.Errorf("state/%s: %w", id, err))
		return nil
	}
	into := st.Forgotten
	switch kind {
	case StateReplaced:
		return nil // addReplaced took its pairs
	case StateVerified:
		into = st.Verified
		st.verified = append(st.verified, id)
	}
	for _, x := range set {
		into[x] = true
	}
	return nil
}

// SaveVerified records packs as verified whole in one state object, then deletes the
// older verified-pack objects st was loaded from: packs is meant to include what they
// held that still matters. A concurrent verify's object is not among them, so two
// verifies never lose each other's record.
func (r *Repo) SaveVerified(ctx context.Context, st *State, packs []digest.ID) error {
	id, err := r.saveObject(ctx, remote.State, EncodeState(StateVerified, packs))
	if err != nil {
		return fmt.Errorf("save verify state: %w", err)
	}
	var errs []error
	for _, old := range st.verified {
		if old == id {
			continue
		}
		if err := r.store.Delete(ctx, remote.Handle{Type: remote.State, Name: old.String()}); err != nil {
			errs = append(errs, err)
		}
	}
	if len(errs) > 0 {
		return fmt.Errorf("remove replaced verify state: %w", errors.Join(errs...))
	}
	return nil
}

// RecordForgotten records that the snapshots ids are being removed on purpose. Forget
// calls it before it deletes their records, so that a gap in a snapshot chain that
// forget made is not reported as damage.
func (r *Repo) RecordForgotten(ctx context.Context, ids []digest.ID) error {
	if len(ids) == 0 {
		return nil
	}
	if _, err := r.saveObject(ctx, remote.State, EncodeState(StateForgotten, ids)); err != nil {
		return fmt.Errorf("record forgotten snapshots: %w", err)
	}
	return nil
}
