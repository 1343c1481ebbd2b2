// Package prune is the engine that removes the packs no kept snapshot needs, by the
// lock-free two-phase protocol of docs/prune.md: unneeded packs are marked, and a
// pack is deleted only by a prune that runs a grace period later, if it is still
// unneeded then. This file is the protocol's decision (step 7), a pure function of
// what the listings showed.
package prune

import (
	"bytes"
	"slices"
	"time"

	"github.com/cairn-backup/cairn/internal/digest"
	"github.com/cairn-backup/cairn/internal/repo"
)

// Blob names a blob by type and id.
type Blob = repo.BlobID

// Entry is one index entry: a blob stored in a pack at Offset, Length sealed bytes
// long. The same entry may come from several index segments; Make counts it once.
type Entry struct {
	Pack   digest.ID
	Blob   Blob
	Offset uint64
	Length uint32
}

// Pack is a pack the storage listed.
type Pack struct {
	Size    int64
	ModTime time.Time // the storage's time of the upload
	Indexed bool      // some index entry names it
}

// Mark is a mark record: packs a prune found unneeded at Time (the storage's time of
// the record), with the grace period that prune used.
type Mark struct {
	ID    digest.ID
	Time  time.Time
	Grace time.Duration
	Packs []digest.ID
}

// Input is what a prune learned from its listings (docs/prune.md steps 1 to 6).
type Input struct {
	Now       time.Time          // the storage's time at the start (step 1)
	Packs     map[digest.ID]Pack // every pack the storage listed
	Entries   []Entry            // every entry of every index segment, duplicates too
	Used      map[Blob]bool      // blobs some kept snapshot needs
	Marks     []Mark             // every mark record
	Grace     time.Duration      // --grace
	MaxUnused float64            // --max-unused, a share of the data (0.05 is 5 %)
	MaxRepack int64              // --max-repack-size in bytes; 0 means no limit
}

// Class is what a prune does with one pack.
type Class int

// The classes of docs/prune.md step 7.
const (
	Keep   Class = iota // holds blobs in use, little waste
	Repack              // holds blobs in use; they are copied and the pack marked
	MarkIt              // unneeded and unmarked: marked now
	Delete              // unneeded and marked a grace period ago: deleted now
	Wait                // unneeded and marked less than a grace period ago
	Young               // an orphan younger than the grace period: a backup's upload in flight
)

// Plan is the decision for every pack, with what repacking must copy.
type Plan struct {
	Class    map[digest.ID]Class
	Copy     []Entry     // the chosen locations of used blobs in Repack packs
	Forget   []digest.ID // packs absent from storage that marks name: drop from the index
	DoneMark []digest.ID // mark records none of whose packs exists any more
	Stats    Stats
}

// Stats counts packs and bytes per class.
type Stats struct {
	Packs, Bytes  [Young + 1]int64
	UsedBytes     int64 // sealed bytes of the blobs in use
	UnusedAfter   int64 // bytes that stay unused in kept packs
	RepackedBytes int64 // used bytes copied by repacking
}

// Packs returns the packs of class c, sorted.
func (p *Plan) Packs(c Class) []digest.ID {
	var out []digest.ID
	for id, k := range p.Class {
		if k == c {
			out = append(out, id)
		}
	}
	sortIDs(out)
	return out
}

func sortIDs(ids []digest.ID) {
	slices.SortFunc(ids, func(a, b digest.ID) int { return bytes.Compare(a[:], b[:]) })
}
