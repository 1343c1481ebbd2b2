package prune

import (
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"maps"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"
)

// The simulated source tree of TestSimulatedYear: two hundred small files and a
// larger one of more than one chunk. Most of the nightly change falls on a few hot
// files (a mailbox, a log), the rest on the cold majority, as in a real home
// directory. So most of the bytes written over the year are versions of the hot
// files that no kept snapshot holds: the year writes over twice the live data, and a
// repository that gave none of it back would break the bound the test asserts
// (checkSize checks that the bound has these teeth).
const (
	treeCold     = 200       // cold files at the start
	treeHot      = 6         // hot files, always there
	treeBigSize  = 1_100_000 // the file of more than one chunk, edited in place now and then
	treeChange   = 0.02      // share of the small files' bytes changed a night
	treeHotShare = 0.85      // share of the changes that fall on hot files
	treeBigEvery = 90        // the big file is edited every treeBigEvery nights
	treeBig      = "photos/big.raw"
)

// coldDirs hold the cold files; the hot ones are in mail/.
var coldDirs = []string{"docs", "docs/2024", "docs/2025", "photos", "src", "src/lib"}

// content is what a file holds: its SHA-256 and size.
type content struct {
	sum  [32]byte
	size int64
}

// tree is the source tree on disk and a record of what each file holds.
type tree struct {
	t     *testing.T
	dir   string
	rng   *rand.Rand         // what changes
	bytes *rand.ChaCha8      // the bytes written
	files map[string]content // path relative to dir → content
	cold  []string           // cold file names, for random picks
	next  int                // number of the next new file
	mtime time.Time          // the night's time, given to every file written
}

func newTree(t *testing.T, dir string, seed uint64, now time.Time) *tree {
	var key [32]byte
	binary.LittleEndian.PutUint64(key[:], seed)
	tr := &tree{t: t, dir: dir, rng: rand.New(rand.NewPCG(seed, seed^0x5eed)), bytes: rand.NewChaCha8(key),
		files: map[string]content{}, mtime: now}
	for i := range treeHot {
		tr.write(fmt.Sprintf("mail/hot%02d", i), tr.hotSize())
	}
	for range treeCold {
		tr.addCold()
	}
	tr.write(treeBig, treeBigSize)
	return tr
}

func (tr *tree) hotSize() int  { return 4<<10 + tr.rng.IntN(8<<10) }
func (tr *tree) coldSize() int { return 512 + tr.rng.IntN(16<<10) }

// night changes about treeChange of the small files' bytes: modifies hot files,
// modifies, adds and deletes cold ones; every treeBigEvery nights it edits the big
// file in place.
func (tr *tree) night(n int, now time.Time) {
	tr.mtime = now
	budget := int64(treeChange * float64(tr.smallBytes()))
	for budget > 0 {
		if tr.rng.Float64() < treeHotShare {
			size := tr.hotSize()
			tr.write(fmt.Sprintf("mail/hot%02d", tr.rng.IntN(treeHot)), size)
			budget -= int64(size)
			continue
		}
		switch k := tr.rng.IntN(3); {
		case k == 0 || len(tr.cold) < treeCold/2:
			budget -= int64(tr.addCold())
		case k == 1:
			size := tr.coldSize()
			tr.write(tr.cold[tr.rng.IntN(len(tr.cold))], size)
			budget -= int64(size)
		default:
			budget -= tr.removeCold()
		}
	}
	if n%treeBigEvery == 0 {
		tr.editBig()
	}
}

func (tr *tree) smallBytes() int64 {
	var n int64
	for _, c := range tr.files {
		n += c.size
	}
	return n - tr.files[treeBig].size
}

func (tr *tree) addCold() int {
	name := fmt.Sprintf("%s/f%05d", coldDirs[tr.rng.IntN(len(coldDirs))], tr.next)
	tr.next++
	tr.cold = append(tr.cold, name)
	size := tr.coldSize()
	tr.write(name, size)
	return size
}

func (tr *tree) removeCold() int64 {
	i := tr.rng.IntN(len(tr.cold))
	name := tr.cold[i]
	tr.cold[i] = tr.cold[len(tr.cold)-1]
	tr.cold = tr.cold[:len(tr.cold)-1]
	if err := os.Remove(filepath.Join(tr.dir, name)); err != nil {
		tr.t.Fatal(err)
	}
	size := tr.files[name].size
	delete(tr.files, name)
	return size
}

// editBig overwrites 4 KiB somewhere in the big file: one or two of its chunks change.
func (tr *tree) editBig() {
	p := filepath.Join(tr.dir, treeBig)
	data, err := os.ReadFile(p)
	if err != nil {
		tr.t.Fatal(err)
	}
	off := tr.rng.IntN(len(data) - 4096)
	tr.bytes.Read(data[off : off+4096])
	tr.store(treeBig, data)
}

func (tr *tree) write(name string, size int) {
	data := make([]byte, size)
	tr.bytes.Read(data)
	tr.store(name, data)
}

// store writes data under a temporary name and renames it into place, so the file
// has a new inode as well as the night's mtime: the backup never takes it for
// unchanged, however fast the nights go by.
func (tr *tree) store(name string, data []byte) {
	p := filepath.Join(tr.dir, name)
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		tr.t.Fatal(err)
	}
	tmp := p + ".new"
	if err := os.WriteFile(tmp, data, 0o644); err != nil {
		tr.t.Fatal(err)
	}
	if err := os.Chtimes(tmp, tr.mtime, tr.mtime); err != nil {
		tr.t.Fatal(err)
	}
	if err := os.Rename(tmp, p); err != nil {
		tr.t.Fatal(err)
	}
	tr.files[name] = content{sha256.Sum256(data), int64(len(data))}
}

// record returns a copy of what the tree holds now.
func (tr *tree) record() map[string]content { return maps.Clone(tr.files) }

// policyKeeps is the test's own reading of the policy daily 7, weekly 4, monthly 12,
// with buckets in UTC, as restic defines it: each rule walks the snapshots newest
// first and keeps the first one of every new bucket, until it has kept its count; a
// rule that still has buckets left at the end keeps the oldest snapshot too (restic
// 0.17 and later), so young histories reach back as far as they can. A snapshot is
// kept if any rule keeps it. It returns the indexes of the times kept.
func policyKeeps(times []time.Time) map[int]bool {
	day := func(t time.Time) int { y, m, d := t.Date(); return y*10000 + int(m)*100 + d }
	week := func(t time.Time) int { y, w := t.ISOWeek(); return y*100 + w }
	month := func(t time.Time) int { return t.Year()*100 + int(t.Month()) }
	rules := []struct {
		count  int
		bucket func(time.Time) int
	}{{7, day}, {4, week}, {12, month}}
	order := make([]int, len(times))
	for i := range order {
		order[i] = i
	}
	slices.SortFunc(order, func(a, b int) int { return times[b].Compare(times[a]) })
	keep := map[int]bool{}
	for _, r := range rules {
		last, left := -1, r.count
		for _, i := range order {
			if left == 0 {
				break
			}
			if b := r.bucket(times[i].UTC()); b != last {
				keep[i], last = true, b
				left--
			}
		}
		if left > 0 {
			keep[order[len(order)-1]] = true
		}
	}
	return keep
}
