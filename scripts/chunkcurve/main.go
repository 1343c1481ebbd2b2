// Command chunkcurve measures what the chunk bounds trade against each other: smaller
// chunks make an edit rewrite less data, and make more blobs for the index to hold. It
// chunks a pseudo-random file and an edited version of it (the bigfile scenario of
// scripts/bench) under several bounds and prints a Markdown table for
// docs/benchmarks.md.
//
//	go run ./scripts/chunkcurve [-size 1GiB] [-seed N] [-runs N]
package main

import (
	"crypto/sha256"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"runtime"
	"strconv"
	"strings"

	"github.com/cairn-backup/cairn/internal/repo"
	"github.com/restic/chunker"
	"golang.org/x/sync/errgroup"
)

// blobIndexBytes is what one blob costs cairn's in-memory index, as measured by
// BenchmarkMemory10M in internal/index.
const blobIndexBytes = 39.2

// pol is the chunker polynomial of every run. Cairn draws one at random per
// repository; a fixed one keeps runs reproducible, and on random data any
// irreducible polynomial cuts alike.
const pol = chunker.Pol(0x3DA3358B4DC173)

const (
	kiB = 1 << 10
	miB = 1 << 20
	giB = 1 << 30
	tiB = 1 << 40
)

// bounds is one chunker setting: the minimum size, the bits of the split mask (an
// average of 2^avgBits bytes beyond the minimum) and the maximum size.
type bounds struct {
	min, max uint
	avgBits  int
	note     string
}

func (b bounds) String() string {
	s := fmt.Sprintf("%s / %d / %s", size(b.min), b.avgBits, size(b.max))
	if b.note != "" {
		s += " (" + b.note + ")"
	}
	return s
}

// curve lists the settings measured, from small chunks to large ones. Two pairs have
// the same mean chunk with another split between minimum and mask (256/19 and 512/18,
// 512/20 and 1024/19), to show what the shape alone does.
func curve() []bounds {
	return []bounds{
		{min: 64 * kiB, avgBits: 16, max: 1 * miB},
		{min: 128 * kiB, avgBits: 17, max: 2 * miB},
		{min: 128 * kiB, avgBits: 18, max: 2 * miB},
		{min: 256 * kiB, avgBits: 18, max: 4 * miB},
		{min: 256 * kiB, avgBits: 19, max: 4 * miB, note: "former cairn default"},
		{min: repo.DefaultMinChunk, avgBits: repo.DefaultAvgBits, max: repo.DefaultMaxChunk, note: "cairn"},
		{min: 512 * kiB, avgBits: 19, max: 8 * miB},
		{min: chunker.MinSize, avgBits: 20, max: chunker.MaxSize, note: "restic"},
		{min: 1 * miB, avgBits: 19, max: 8 * miB},
		{min: 1 * miB, avgBits: 20, max: 8 * miB},
		{min: 1 * miB, avgBits: 21, max: 8 * miB},
	}
}

// result sums one setting's measurements over the runs.
type result struct {
	chunks int64 // chunks of the original
	bytes  int64 // size of the original
	added  int64 // bytes of the edited version's chunks that the original lacks
}

func main() {
	sizeFlag := flag.String("size", "1GiB", "size of the file (B, KiB, MiB or GiB)")
	seed := flag.Uint64("seed", 1, "seed of the first run; run i uses seed+i")
	runs := flag.Int("runs", 1, "runs with successive seeds; the table shows their means")
	flag.Parse()
	if err := run(os.Stdout, *sizeFlag, *seed, *runs); err != nil {
		fmt.Fprintln(os.Stderr, "chunkcurve:", err)
		os.Exit(1)
	}
}

func run(w io.Writer, sizeFlag string, seed uint64, runs int) error {
	n, err := parseSize(sizeFlag)
	if err != nil {
		return err
	}
	if n < 4*miB || runs < 1 {
		return errors.New("need -size of at least 4MiB and -runs of at least 1")
	}
	settings := curve()
	results := make([][]result, len(settings))
	// One job per setting and run, as many at once as there are cores: each keeps
	// only its chunk buffer and the ids of one file.
	var g errgroup.Group
	g.SetLimit(runtime.GOMAXPROCS(0))
	for i, b := range settings {
		results[i] = make([]result, runs)
		for r := range runs {
			sc := scenario{seed: seed + uint64(r), size: n}
			g.Go(func() (err error) {
				results[i][r], err = measure(b, sc)
				return err
			})
		}
	}
	if err := g.Wait(); err != nil {
		return err
	}
	seeds := fmt.Sprintf("seed %d", seed)
	if runs > 1 {
		seeds = fmt.Sprintf("%d runs, seeds %d–%d: means, and the range of the runs in brackets", runs, seed, seed+uint64(runs)-1)
	}
	fmt.Fprintf(w, "%s pseudo-random file, then %s inserted mid-file and %d × %s overwritten; %s. "+
		"Chunker polynomial %s, the same in every run (cairn draws one per repository). "+
		"Index: %.1f bytes per blob (cairn's in-memory index, BenchmarkMemory10M).\n\n",
		size(uint(n)), size(insertSize), editCount, size(editSize), seeds, pol, blobIndexBytes)
	printTable(w, settings, results)
	return nil
}

// measure chunks the original and then the edited version with bounds b, and counts
// the bytes of the edited version's chunks that a backup of the original already
// holds, by SHA-256 like the repository does.
func measure(b bounds, sc scenario) (result, error) {
	var r result
	seen := make(map[[sha256.Size]byte]struct{})
	buf := make([]byte, b.max)
	ch := chunker.NewWithBoundaries(sc.original(), pol, b.min, b.max)
	ch.SetAverageBits(b.avgBits)
	err := eachChunk(ch, buf, func(data []byte) {
		seen[sha256.Sum256(data)] = struct{}{}
		r.chunks++
		r.bytes += int64(len(data))
	})
	if err != nil {
		return r, fmt.Errorf("chunk original with %v: %w", b, err)
	}
	// Reset restores the default split mask, so the bits are set again.
	ch.ResetWithBoundaries(sc.edited(), pol, b.min, b.max)
	ch.SetAverageBits(b.avgBits)
	err = eachChunk(ch, buf, func(data []byte) {
		id := sha256.Sum256(data)
		if _, ok := seen[id]; !ok {
			seen[id] = struct{}{} // a chunk repeated in the new version is stored once
			r.added += int64(len(data))
		}
	})
	if err != nil {
		return r, fmt.Errorf("chunk edited version with %v: %w", b, err)
	}
	return r, nil
}

func eachChunk(ch *chunker.Chunker, buf []byte, fn func([]byte)) error {
	for {
		c, err := ch.Next(buf)
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
		fn(c.Data)
	}
}

// printTable prints one row per setting, with the bytes added relative to restic's
// bounds, the setting cairn is benchmarked against.
func printTable(w io.Writer, settings []bounds, results [][]result) {
	sums := make([]result, len(settings))
	var ref float64
	for i, rs := range results {
		for _, r := range rs {
			sums[i].chunks += r.chunks
			sums[i].bytes += r.bytes
			sums[i].added += r.added
		}
		if settings[i].note == "restic" {
			ref = float64(sums[i].added)
		}
	}
	fmt.Fprintln(w, "| min / avg bits / max | mean chunk | chunks per GiB | index per TiB of unique data | added by the edited version | vs restic's bounds |")
	fmt.Fprintln(w, "|---|---|---|---|---|---|")
	for i, s := range sums {
		mean := float64(s.bytes) / float64(s.chunks)
		fmt.Fprintf(w, "| %v | %.0f KiB | %.0f | %.1f MB | %s | %.2f |\n",
			settings[i], mean/kiB, giB/mean, tiB/mean*blobIndexBytes/1e6,
			added(results[i]), float64(s.added)/ref)
	}
}

// added formats the mean of the bytes added and, over several runs, their range: one
// run's number depends much on where its 21 edits fall.
func added(rs []result) string {
	var sum int64
	lo, hi := rs[0].added, rs[0].added
	for _, r := range rs {
		sum += r.added
		lo, hi = min(lo, r.added), max(hi, r.added)
	}
	s := fmt.Sprintf("%.1f MB", float64(sum)/float64(len(rs))/1e6)
	if len(rs) > 1 {
		s += fmt.Sprintf(" (%.1f–%.1f)", float64(lo)/1e6, float64(hi)/1e6)
	}
	return s
}

// size formats a power-of-two size the way the table and the flags spell it.
func size(n uint) string {
	switch {
	case n >= giB && n%giB == 0:
		return fmt.Sprintf("%d GiB", n/giB)
	case n >= miB && n%miB == 0:
		return fmt.Sprintf("%d MiB", n/miB)
	case n >= kiB && n%kiB == 0:
		return fmt.Sprintf("%d KiB", n/kiB)
	}
	return fmt.Sprintf("%d B", n)
}

// parseSize reads a size such as 1GiB, 256MiB or 1048576.
func parseSize(s string) (int64, error) {
	num, mult := s, int64(1)
	for _, u := range []struct {
		suffix string
		mult   int64
	}{{"GiB", giB}, {"MiB", miB}, {"KiB", kiB}, {"B", 1}} {
		if strings.HasSuffix(s, u.suffix) {
			num, mult = strings.TrimSpace(strings.TrimSuffix(s, u.suffix)), u.mult
			break
		}
	}
	n, err := strconv.ParseInt(num, 10, 64)
	if err != nil || n <= 0 || n > (1<<62)/mult {
		return 0, fmt.Errorf("size %q: want a positive number of B, KiB, MiB or GiB", s)
	}
	return n * mult, nil
}
