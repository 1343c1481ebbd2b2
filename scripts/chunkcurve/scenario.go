package main

import (
	"encoding/binary"
	"io"
	"math/rand/v2"
)

// The edit of the bigfile scenario in scripts/bench: 1 MiB inserted mid-file, then
// 4 KiB overwritten at 20 places anywhere in the new version.
const (
	insertSize = 1 << 20
	editCount  = 20
	editSize   = 4 << 10
)

// scenario is one pseudo-random file and its edited version, both regenerated from
// the seed as streams, so a run keeps no file in memory or on disk.
type scenario struct {
	seed uint64
	size int64
}

// stream returns the pseudo-random bytes of one part of the scenario; each label gets
// its own ChaCha8 key, so the parts are independent of each other.
func (s scenario) stream(label string) io.Reader {
	var key [32]byte
	binary.LittleEndian.PutUint64(key[:8], s.seed)
	copy(key[8:], label)
	return rand.NewChaCha8(key)
}

func (s scenario) original() io.Reader {
	return io.LimitReader(s.stream("original"), s.size)
}

// edited returns the original with the insertion and the overwrites applied.
func (s scenario) edited() io.Reader {
	// ChaCha8 fills every read whole, so the second LimitReader continues the
	// original exactly where the first stopped.
	base := s.stream("original")
	mid := s.size / 2
	r := io.MultiReader(
		io.LimitReader(base, mid),
		io.LimitReader(s.stream("insert"), insertSize),
		io.LimitReader(base, s.size-mid),
	)
	return &patcher{r: r, edits: s.edits()}
}

// edit is new content written over the edited version at off.
type edit struct {
	off  int64
	data []byte
}

// edits draws the overwrites: offsets uniform over the edited version, as in
// scripts/bench, so one may land in the insertion or overlap another.
func (s scenario) edits() []edit {
	pick := rand.New(rand.NewPCG(s.seed, 0))
	fill := s.stream("edits")
	n := s.size + insertSize
	edits := make([]edit, editCount)
	for i := range edits {
		edits[i].off = pick.Int64N(n - editSize)
		edits[i].data = make([]byte, editSize)
		_, _ = io.ReadFull(fill, edits[i].data) // ChaCha8 never fails
	}
	return edits
}

// patcher overwrites the edits' ranges of a stream in order, so where two overlap the
// later one wins, as when they are written to a file one after the other.
type patcher struct {
	r     io.Reader
	pos   int64
	edits []edit
}

func (p *patcher) Read(b []byte) (int, error) {
	n, err := p.r.Read(b)
	lo, hi := p.pos, p.pos+int64(n)
	for _, e := range p.edits {
		from, to := max(lo, e.off), min(hi, e.off+int64(len(e.data)))
		if from < to {
			copy(b[from-lo:to-lo], e.data[from-e.off:to-e.off])
		}
	}
	p.pos = hi
	return n, err
}
