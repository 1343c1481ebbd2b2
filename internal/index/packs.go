package index

import (
	"bytes"
	"slices"

	"github.com/cairn-backup/cairn/internal/digest"
)

// packTable numbers packs in the order they are added; blob records store the number.
// Finding a pack by id uses a sorted list of numbers (4 bytes a pack) plus a small map
// of the packs added since the list was last sorted, rather than a map of every pack
// (about 60 bytes a pack).
type packTable struct {
	ids    []digest.ID
	sizes  []uint64
	sorted []uint32             // numbers 0 to len(sorted)-1, ordered by id
	newer  map[digest.ID]uint32 // numbers from len(sorted) on
}

// minNewer is how many packs the map holds before the sorted list is rebuilt; above
// it the map may grow to an eighth of the packs, so rebuilding is amortised O(log n).
const minNewer = 1 << 10

func (pt *packTable) find(id digest.ID) (uint32, bool) {
	i, ok := slices.BinarySearchFunc(pt.sorted, id, func(n uint32, id digest.ID) int {
		return bytes.Compare(pt.ids[n][:], id[:])
	})
	if ok {
		return pt.sorted[i], true
	}
	n, ok := pt.newer[id]
	return n, ok
}

// add numbers a pack the table does not hold yet.
func (pt *packTable) add(id digest.ID, size uint64) uint32 {
	n := uint32(len(pt.ids))
	pt.ids = append(pt.ids, id)
	pt.sizes = append(pt.sizes, size)
	if pt.newer == nil {
		pt.newer = make(map[digest.ID]uint32)
	}
	pt.newer[id] = n
	if len(pt.newer) > max(minNewer, len(pt.sorted)/8) {
		pt.resort()
	}
	return n
}

func (pt *packTable) resort() {
	sorted := make([]uint32, len(pt.ids))
	for i := range sorted {
		sorted[i] = uint32(i)
	}
	slices.SortFunc(sorted, func(a, b uint32) int { return bytes.Compare(pt.ids[a][:], pt.ids[b][:]) })
	pt.sorted = sorted
	pt.newer = nil
}
