package restore

import (
	"sort"

	"github.com/cairn-backup/cairn/internal/digest"
	"github.com/cairn-backup/cairn/internal/repo"
)

// batchUses bounds the chunk uses one batch of files fetches: fill plans and reads the
// files in batches of about this many, so that what it holds for the blobs to fetch
// (about 150 bytes each) is bounded, not the size of the restore. A batch still spans
// a few packs of small files, so reads keep some parallelism; a blob shared by files
// of different batches is fetched once per batch.
var batchUses = 1 << 14 // a variable for tests

// Files are fetched in the order their data lies in the packs, not in the plan's
// order. A backup fills several packs at once, so the files of one stretch of the tree
// lie in packs written side by side: a batch of them in plan order reads a part of
// each of those packs, the next batch reads on in the same packs, and each pack is
// fetched once for every batch that reaches into it (a restore of 100,000 small files
// from 14 packs fetched them 37 times). In pack order a batch reads whole packs, one
// after another, and ends where a pack ends, so that each pack is fetched once.

// packOrder sorts files by where their first chunk lies: packs in the order the plan
// first reaches them, then by offset in the pack. It returns each sorted file's key,
// whose upper half is its pack's rank (nextBatch ends a batch where it changes). Files
// with nothing to fetch, or whose first chunk the index lacks, come first (rank 0).
func (e *run) packOrder(files []*fileNode) []uint64 {
	rank := map[digest.ID]uint64{}
	keys := make([]uint64, len(files))
	for i, f := range files {
		if f.act != actWrite || len(f.chunks) == 0 {
			continue
		}
		b, ok := e.r.Lookup(repo.DataBlob, f.chunks[0].ID)
		if !ok {
			continue
		}
		r, ok := rank[b.Pack]
		if !ok {
			r = uint64(len(rank)) + 1
			rank[b.Pack] = r
		}
		keys[i] = r<<32 | uint64(b.Offset)
	}
	sort.Sort(byKey{files, keys})
	return keys
}

// byKey sorts files and their keys together.
type byKey struct {
	files []*fileNode
	keys  []uint64
}

func (s byKey) Len() int           { return len(s.files) }
func (s byKey) Less(i, j int) bool { return s.keys[i] < s.keys[j] }
func (s byKey) Swap(i, j int) {
	s.files[i], s.files[j] = s.files[j], s.files[i]
	s.keys[i], s.keys[j] = s.keys[j], s.keys[i]
}

// nextBatch returns the end of the batch of files that starts at files[start]: at
// least one file, and no more once batchUses chunk uses are reached. With keys (from
// packOrder), a batch that would end inside a pack ends instead where the last pack it
// reaches begins, if one begins in it: that pack is then read whole by the next batch.
func nextBatch(files []*fileNode, keys []uint64, start int) int {
	n, end := 0, start
	for end < len(files) && (end == start || n+len(files[end].chunks) <= batchUses) {
		n += len(files[end].chunks)
		end++
	}
	if keys == nil || end == len(files) {
		return end
	}
	for cut := end; cut > start; cut-- {
		if keys[cut]>>32 != keys[cut-1]>>32 {
			return cut
		}
	}
	return end
}
