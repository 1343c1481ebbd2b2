package restore

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/cairn-backup/cairn/manifest"
)

func TestNextBatchBoundsChunkUses(t *testing.T) {
	defer func(n int) { batchUses = n }(batchUses)
	batchUses = 4
	files := func(chunks ...int) []*fileNode {
		fs := make([]*fileNode, len(chunks))
		for i, n := range chunks {
			fs[i] = &fileNode{chunks: make([]manifest.Chunk, n)}
		}
		return fs
	}
	for _, c := range []struct {
		chunks []int
		want   []int // the end of each batch
	}{
		{nil, nil},
		{[]int{1, 1, 1, 1, 1}, []int{4, 5}},
		{[]int{0, 0, 0, 0, 0, 0}, []int{6}},
		{[]int{9, 1, 2, 2}, []int{1, 3, 4}},       // a file over the bound is a batch of its own
		{[]int{3, 2, 2, 1, 4}, []int{1, 3, 4, 5}}, // never more than the bound otherwise
	} {
		fs := files(c.chunks...)
		var got []int
		for start := 0; start < len(fs); start = got[len(got)-1] {
			got = append(got, nextBatch(fs, nil, start))
		}
		if fmt.Sprint(got) != fmt.Sprint(c.want) {
			t.Errorf("chunks %v: batches end at %v, want %v", c.chunks, got, c.want)
		}
	}
}

// TestNextBatchEndsWherePacksBegin: in pack order, a batch that would end inside a
// pack ends where the last pack it reaches begins, so the next batch reads that pack
// whole; a pack larger than a batch is still cut at the bound.
func TestNextBatchEndsWherePacksBegin(t *testing.T) {
	defer func(n int) { batchUses = n }(batchUses)
	batchUses = 4
	for _, c := range []struct {
		packs []uint64 // each file's pack rank; every file has one chunk
		want  []int
	}{
		{[]uint64{1, 1, 2, 2, 2, 3, 3}, []int{2, 5, 7}},
		{[]uint64{1, 1, 1, 1, 2, 2}, []int{4, 6}},    // the bound falls where a pack ends
		{[]uint64{1, 1, 1, 1, 1, 1, 2}, []int{4, 7}}, // a pack over the bound
		{[]uint64{0, 1, 1, 1, 1, 2}, []int{1, 5, 6}}, // nothing to fetch, then packs
	} {
		fs := make([]*fileNode, len(c.packs))
		keys := make([]uint64, len(c.packs))
		for i, p := range c.packs {
			fs[i] = &fileNode{chunks: make([]manifest.Chunk, 1)}
			keys[i] = p<<32 | uint64(i)
		}
		var got []int
		for start := 0; start < len(fs); start = got[len(got)-1] {
			got = append(got, nextBatch(fs, keys, start))
		}
		if fmt.Sprint(got) != fmt.Sprint(c.want) {
			t.Errorf("packs %v: batches end at %v, want %v", c.packs, got, c.want)
		}
	}
}

// TestRestoreInSmallBatches restores with batches of two chunk uses: files of many
// chunks, hard links, holes, and one content in files of different batches (fetched
// once per batch) all come back as they were.
func TestRestoreInSmallBatches(t *testing.T) {
	defer func(n int) { batchUses = n }(batchUses)
	batchUses = 2
	e := newEnv(t)
	src := filepath.Join(t.TempDir(), "src")
	fixture(t, src, 5)
	shared := bytes.Repeat([]byte("same content in many files "), 100)
	for i := range 7 {
		writeFile(t, filepath.Join(src, "same", fmt.Sprintf("s%d", i)), shared, 0o644)
	}
	id := e.backup(time.Time{}, src)
	target := t.TempDir()
	special := os.Geteuid() == 0
	res := e.mustRestore(id, Options{Target: target, Owner: special, Special: special})
	sameTree(t, src, under(target, src))
	checkLinksAndHoles(t, under(target, src))
	if res.Links != 2 || len(res.Problems) != 0 {
		t.Errorf("result %+v", res)
	}
}
