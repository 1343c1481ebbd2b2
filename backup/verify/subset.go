package verify

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"

	"github.com/cairn-backup/cairn/internal/digest"
)

// Subset selects the packs a verify reads. With M > 0 it is subset N of M: the packs
// whose id's first 8 bytes, read big-endian, are N-1 modulo M, so the M subsets are
// disjoint and together hold every pack, and a nightly "verify --read-data-subset
// $((day % 7 + 1))/7" reads everything once a week. Otherwise it is a random sample
// of Percent percent of the packs, drawn with Seed: the same seed draws the same packs.
type Subset struct {
	N, M    uint64
	Percent float64
	Seed    uint64
}

// ParseSubset reads "n/m" (1 ≤ n ≤ m) or "p%" (0 < p ≤ 100); seed is kept for "p%".
func ParseSubset(s string, seed uint64) (Subset, error) {
	if p, ok := strings.CutSuffix(s, "%"); ok {
		v, err := strconv.ParseFloat(p, 64)
		if err != nil || math.IsNaN(v) || v <= 0 || v > 100 {
			return Subset{}, fmt.Errorf("read-data subset %q: want a percentage above 0 and at most 100", s)
		}
		return Subset{Percent: v, Seed: seed}, nil
	}
	ns, ms, ok := strings.Cut(s, "/")
	n, nerr := strconv.ParseUint(ns, 10, 64)
	m, merr := strconv.ParseUint(ms, 10, 64)
	if !ok || nerr != nil || merr != nil || n < 1 || n > m {
		return Subset{}, fmt.Errorf("read-data subset %q: want n/m with 1 ≤ n ≤ m, or p%%", s)
	}
	return Subset{N: n, M: m}, nil
}

// InSubset reports whether pack id belongs to subset n of m.
func InSubset(id digest.ID, n, m uint64) bool {
	return m > 0 && binary.BigEndian.Uint64(id[:8])%m+1 == n
}

func (s Subset) String() string {
	if s.M > 0 {
		return fmt.Sprintf("subset %d/%d", s.N, s.M)
	}
	return fmt.Sprintf("%g%% of the packs (seed %d)", s.Percent, s.Seed)
}

// pick returns the packs of ids in the subset, in the order of ids.
func (s Subset) pick(ids []digest.ID) []digest.ID {
	if s.M > 0 {
		var out []digest.ID
		for _, id := range ids {
			if InSubset(id, s.N, s.M) {
				out = append(out, id)
			}
		}
		return out
	}
	k := int(math.Ceil(s.Percent / 100 * float64(len(ids))))
	type keyed struct{ key, id digest.ID }
	all := make([]keyed, len(ids))
	var seed [8]byte
	binary.LittleEndian.PutUint64(seed[:], s.Seed)
	for i, id := range ids {
		all[i] = keyed{sha256.Sum256(append(seed[:], id[:]...)), id}
	}
	slices.SortFunc(all, func(a, b keyed) int { return bytes.Compare(a.key[:], b.key[:]) })
	out := make([]digest.ID, 0, k)
	for _, x := range all[:min(k, len(all))] {
		out = append(out, x.id)
	}
	slices.SortFunc(out, func(a, b digest.ID) int { return bytes.Compare(a[:], b[:]) })
	return out
}
