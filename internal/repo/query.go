package repo

import (
	"context"

	"github.com/cairn-backup/cairn/internal/digest"
	"github.com/cairn-backup/cairn/internal/index"
)

// Narrow questions to the loaded index (LoadIndex or LoadIndexReport first): the
// engines ask where a blob is, which packs exist and how large the repository is, and
// never hold the index itself.

// Lookup returns where the index places the blob of type t and id id.
func (r *Repo) Lookup(t BlobType, id digest.ID) (Blob, bool) {
	loc, ok := r.lookup(t, id)
	if !ok {
		return Blob{}, false
	}
	return Blob{Type: t, ID: id, Pack: loc.Pack, Offset: loc.Offset, Length: loc.Length}, true
}

// PackSize returns the size the index gives pack id.
func (r *Repo) PackSize(id digest.ID) (uint64, bool) { return r.idx.PackSize(id) }

// EachPack calls fn for every indexed pack and its size, in the order they were
// indexed, until fn returns false.
func (r *Repo) EachPack(fn func(id digest.ID, size uint64) bool) { r.idx.EachPack(fn) }

// EachBlob calls fn for every indexed blob, in no particular order, until fn returns
// false. It fails only if the index cannot read back what it kept on disk.
func (r *Repo) EachBlob(fn func(b Blob) bool) error {
	return r.idx.EachBlob(func(t BlobType, id digest.ID, loc index.Location) bool {
		return fn(Blob{Type: t, ID: id, Pack: loc.Pack, Offset: loc.Offset, Length: loc.Length})
	})
}

// Stats sums up the loaded index.
type Stats struct {
	Packs       int
	PackBytes   uint64 // the packs' sizes
	DataBlobs   int
	TreeBlobs   int
	StoredBytes uint64 // the blobs' sealed sizes
}

// Blobs returns the number of blobs of both types.
func (s Stats) Blobs() int { return s.DataBlobs + s.TreeBlobs }

// Stats counts the packs and blobs of the loaded index.
func (r *Repo) Stats() (Stats, error) {
	var st Stats
	r.idx.EachPack(func(_ digest.ID, size uint64) bool {
		st.Packs++
		st.PackBytes += size
		return true
	})
	err := r.idx.EachBlob(func(t BlobType, _ digest.ID, loc index.Location) bool {
		if t == DataBlob {
			st.DataBlobs++
		} else {
			st.TreeBlobs++
		}
		st.StoredBytes += uint64(loc.Length)
		return true
	})
	return st, err
}

// Has reports whether the index holds the blob of type t and id id, loading the index
// first if need be.
func (r *Repo) Has(ctx context.Context, t BlobType, id digest.ID) (bool, error) {
	if err := r.LoadIndex(ctx); err != nil {
		return false, err
	}
	return r.idx.Has(t, id), nil
}
