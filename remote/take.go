package remote

import (
	"context"
	"io"
)

// FileTaker is a store that keeps its objects as files (a local directory) and can
// take a finished file as an object by renaming it, where Put would copy its bytes. A
// caller that writes an object to a file anyway (a pack) creates the file with
// CreateTemp, so that it already lies where the rename works, and hands it over with
// TakeFile. The file is one of the store's temporary files: never listed or
// addressed as an object, and, left by a process killed part way, listed and removed
// through the store's TempLister.
//
// Decorators that embed a Storage hide the capability, and callers then Put: a
// decorator must pass it on only if taking a file by rename keeps its own promise
// (a bandwidth limit does not: the bytes were written before it could meter them).
type FileTaker interface {
	// CreateTemp creates an empty temporary file where TakeFile can take it as an
	// object of type t.
	CreateTemp(t Type) (TempFile, error)
	// TakeFile stores the first size bytes of f under h, with the promises of Put:
	// whole or not at all, and durable on return. A file this store's CreateTemp
	// made for h's type is renamed into place; any other, or one the rename fails
	// for (another file system, a file removed from its path while open), is copied.
	// Either way the caller then discards f, which still reads the same bytes.
	TakeFile(ctx context.Context, h Handle, f TempFile, size int64) error
}

// TempFile is a file of FileTaker.CreateTemp: its caller writes it, reads it back,
// and discards it once it is stored or given up. Its errors are the store's: a write
// that finds the disk full fails with ErrFull.
type TempFile interface {
	io.Writer
	io.ReaderAt
	// Discard closes the file and removes it, unless TakeFile renamed it into place.
	Discard() error
}
