package prune

import (
	"errors"
	"fmt"
	"sort"
	"time"

	"github.com/cairn-backup/cairn/internal/digest"
)

// ErrUntrusted: a listing prune depends on cannot be trusted; nothing was deleted.
var ErrUntrusted = errors.New("a listing cannot be trusted")

// Make decides what happens to every pack (docs/prune.md step 7). It refuses, with
// ErrUntrusted, when the index names a pack that the storage did not list and no mark
// names: a truncated listing or a lost pack, and either way not a ground for deleting.
func Make(in Input) (*Plan, error) {
	in.Entries = distinct(in.Entries)
	marked := markTimes(in)
	if missing := missingPacks(in, marked); len(missing) > 0 {
		return nil, fmt.Errorf("%w: the index names %d packs the storage did not list (first: %s); run 'cairn verify' (a lost pack) or try again (a cut-short listing)",
			ErrUntrusted, len(missing), missing[0].Short())
	}
	chosen := choose(in, marked)
	if len(chosen) < len(in.Used) {
		return nil, fmt.Errorf("%w: %d blobs in use are in no listed pack of the index (a cut-short index listing, or lost data); run 'cairn verify'",
			ErrUntrusted, len(in.Used)-len(chosen))
	}
	p := &Plan{Class: make(map[digest.ID]Class, len(in.Packs))}
	used := usedBytes(chosen)
	stored := storedBytes(in.Entries)
	var candidates []digest.ID
	for id, pk := range in.Packs {
		c := classify(in, id, pk, used[id], marked)
		p.Class[id] = c
		if c == Keep && used[id] < stored[id] { // a header alone is no reason to repack
			candidates = append(candidates, id)
		}
	}
	p.pickRepacks(in, used, stored, candidates)
	p.Copy = copies(chosen, p.Class)
	p.Forget, p.DoneMark = gone(in, marked, p.Class)
	p.count(in, used)
	return p, nil
}

// markTimes gives, for each marked pack, the earliest time from which a prune may
// delete it: its mark's time plus the longer of the mark's and this prune's grace.
func markTimes(in Input) map[digest.ID]time.Time {
	out := map[digest.ID]time.Time{}
	for _, m := range in.Marks {
		due := m.Time.Add(max(m.Grace, in.Grace))
		for _, id := range m.Packs {
			if t, ok := out[id]; !ok || due.Before(t) {
				out[id] = due
			}
		}
	}
	return out
}

func missingPacks(in Input, marked map[digest.ID]time.Time) []digest.ID {
	seen := map[digest.ID]bool{}
	var out []digest.ID
	for _, e := range in.Entries {
		if _, ok := in.Packs[e.Pack]; ok || seen[e.Pack] {
			continue
		}
		seen[e.Pack] = true
		if _, ok := marked[e.Pack]; !ok {
			out = append(out, e.Pack)
		}
	}
	sortIDs(out)
	return out
}

// choose picks one location for every used blob: in a present, unmarked pack if there
// is one, else any present one; among several, the pack that holds more blobs in use
// only there, so that duplicates empty the emptier pack. A blob twice in one pack is
// chosen once: the second copy is unused space.
func choose(in Input, marked map[digest.ID]time.Time) map[Blob]Entry {
	locs := map[Blob][]Entry{}
	for _, e := range in.Entries {
		if _, ok := in.Packs[e.Pack]; ok && in.Used[e.Blob] {
			locs[e.Blob] = append(locs[e.Blob], e)
		}
	}
	only := map[digest.ID]int64{} // bytes of blobs found in one pack only
	for _, es := range locs {
		if samePack(es) {
			only[es[0].Pack] += int64(es[0].Length)
		}
	}
	chosen := make(map[Blob]Entry, len(locs))
	for b, es := range locs {
		sort.Slice(es, func(i, j int) bool { return better(es[i], es[j], marked, only) })
		chosen[b] = es[0]
	}
	return chosen
}

func samePack(es []Entry) bool {
	for _, e := range es[1:] {
		if e.Pack != es[0].Pack {
			return false
		}
	}
	return true
}

func better(a, b Entry, marked map[digest.ID]time.Time, only map[digest.ID]int64) bool {
	_, am := marked[a.Pack]
	_, bm := marked[b.Pack]
	switch {
	case am != bm:
		return !am
	case only[a.Pack] != only[b.Pack]:
		return only[a.Pack] > only[b.Pack]
	}
	return a.Pack.String() < b.Pack.String()
}

func usedBytes(chosen map[Blob]Entry) map[digest.ID]int64 {
	out := map[digest.ID]int64{}
	for _, e := range chosen {
		out[e.Pack] += int64(e.Length)
	}
	return out
}

// distinct drops entries that several index segments repeat.
func distinct(es []Entry) []Entry {
	type at struct {
		pack digest.ID
		off  uint64
	}
	seen := make(map[at]bool, len(es))
	out := make([]Entry, 0, len(es))
	for _, e := range es {
		if k := (at{e.Pack, e.Offset}); !seen[k] {
			seen[k] = true
			out = append(out, e)
		}
	}
	return out
}

// storedBytes sums the sealed blobs of each pack, every copy counted.
func storedBytes(es []Entry) map[digest.ID]int64 {
	out := map[digest.ID]int64{}
	for _, e := range es {
		out[e.Pack] += int64(e.Length)
	}
	return out
}

func classify(in Input, id digest.ID, pk Pack, used int64, marked map[digest.ID]time.Time) Class {
	due, isMarked := marked[id]
	switch {
	case used > 0 && isMarked:
		return Repack // a backup reused it before the mark: rescue what it uses
	case used > 0:
		return Keep
	case isMarked && !in.Now.Before(due):
		return Delete
	case isMarked:
		return Wait
	case !pk.Indexed && in.Now.Sub(pk.ModTime) < in.Grace:
		return Young
	}
	return MarkIt
}

// pickRepacks turns Keep packs into Repack, the most wasteful first, until the unused
// blob bytes left in kept packs are at most MaxUnused of all the data (unused over used
// plus unused, as restic's --max-unused), or until MaxRepack bytes would be copied.
// Pack headers do not count as waste: the headers of the packs a repack writes would
// otherwise push the next prune over the limit again.
func (p *Plan) pickRepacks(in Input, used, stored map[digest.ID]int64, candidates []digest.ID) {
	var total, unused, copied int64
	for id, c := range p.Class {
		switch c {
		case Keep:
			total += used[id]
			unused += stored[id] - used[id]
		case Repack:
			total += used[id]
			copied += used[id]
		}
	}
	share := func(id digest.ID) float64 { return 1 - float64(used[id])/float64(stored[id]) }
	sort.Slice(candidates, func(i, j int) bool {
		si, sj := share(candidates[i]), share(candidates[j])
		if si != sj {
			return si > sj
		}
		return candidates[i].String() < candidates[j].String()
	})
	allowed := int64(in.MaxUnused / (1 - min(in.MaxUnused, 0.99)) * float64(total))
	for _, id := range candidates {
		if unused <= allowed {
			return
		}
		if in.MaxRepack > 0 && copied+used[id] > in.MaxRepack {
			continue
		}
		p.Class[id] = Repack
		copied += used[id]
		unused -= stored[id] - used[id]
	}
}

// copies lists the chosen locations that lie in packs being repacked, by pack and
// offset order of the index.
func copies(chosen map[Blob]Entry, class map[digest.ID]Class) []Entry {
	var out []Entry
	for _, e := range chosen {
		if class[e.Pack] == Repack {
			out = append(out, e)
		}
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Pack != out[j].Pack {
			return out[i].Pack.String() < out[j].Pack.String()
		}
		return out[i].Blob.ID.String() < out[j].Blob.ID.String()
	})
	return out
}

// gone returns the packs a mark names that the storage no longer has (their index
// entries are dropped), and the mark records all of whose packs are gone or about to be
// deleted (removed once the deletions are done).
func gone(in Input, marked map[digest.ID]time.Time, class map[digest.ID]Class) (forget, done []digest.ID) {
	indexed := map[digest.ID]bool{}
	for _, e := range in.Entries {
		indexed[e.Pack] = true
	}
	for id := range marked {
		if _, ok := in.Packs[id]; !ok && indexed[id] {
			forget = append(forget, id)
		}
	}
	for _, m := range in.Marks {
		left := false
		for _, id := range m.Packs {
			if _, ok := in.Packs[id]; ok && class[id] != Delete {
				left = true
				break
			}
		}
		if !left {
			done = append(done, m.ID)
		}
	}
	sortIDs(forget)
	sortIDs(done)
	return forget, done
}

func (p *Plan) count(in Input, used map[digest.ID]int64) {
	for id, c := range p.Class {
		p.Stats.Packs[c]++
		p.Stats.Bytes[c] += in.Packs[id].Size
		p.Stats.UsedBytes += used[id]
		switch c {
		case Keep:
			p.Stats.UnusedAfter += in.Packs[id].Size - used[id]
		case Repack:
			p.Stats.RepackedBytes += used[id]
		}
	}
}
