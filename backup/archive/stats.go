package archive

import (
	"sync/atomic"

	"github.com/cairn-backup/cairn/manifest"
)

// Progress holds live counters a caller may poll while Run works (for a progress bar).
// All fields are updated atomically by the engine.
type Progress struct {
	Files, Dirs       atomic.Int64
	NewFiles, Changed atomic.Int64
	Unchanged         atomic.Int64
	Bytes             atomic.Int64 // size of the files seen
	BytesRead         atomic.Int64 // file content read from the disk (holes are not)
	BytesAdded        atomic.Int64 // new chunk bytes, before compression
	BytesStored       atomic.Int64 // what the new chunks take in the repository
	Errors            atomic.Int64
	EstimateBytes     atomic.Int64 // the parent snapshot's total, for an ETA
	// With Options.Count, the source counted beside the backup: files and bytes
	// found so far, and Counted once the count is complete.
	TotalFiles, TotalBytes atomic.Int64
	Counted                atomic.Bool
}

func (p *Progress) snapshot() manifest.SnapshotStats {
	return manifest.SnapshotStats{
		Files: uint64(p.Files.Load()), Dirs: uint64(p.Dirs.Load()), Bytes: uint64(p.Bytes.Load()),
		NewFiles: uint64(p.NewFiles.Load()), ChangedFiles: uint64(p.Changed.Load()),
		UnchangedFiles: uint64(p.Unchanged.Load()),
		BytesRead:      uint64(p.BytesRead.Load()), BytesAdded: uint64(p.BytesAdded.Load()),
		BytesStored: uint64(p.BytesStored.Load()),
	}
}
