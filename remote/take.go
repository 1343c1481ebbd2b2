package remote

import (
	"context"
	"os"
)

// FileTaker is a store that keeps its objects as files (a local directory) and can
// take a finished file as an object by renaming it, where Put would copy its bytes. A
// caller that writes an object to a file anyway (a pack) creates the file with
// CreateTemp, so that it already lies where the rename works, and hands it over with
// TakeFile. Until then the file is one of the store's temporary files: never listed
// or addressed as an object, and, left by a process killed part way, listed and
// removed through the store's TempLister.
//
// Decorators that embed a Storage hide the capability, and callers then Put: a
// decorator must pass it on only if taking a file by rename keeps its own promise
// (a bandwidth limit does not: the bytes were written before it could meter them).
type FileTaker interface {
	// CreateTemp creates an empty temporary file, open for reading and writing, where
	// TakeFile can take it as an object of type t.
	CreateTemp(t Type) (*os.File, error)
	// TakeFile stores the first size bytes of f under h, with the promises of Put:
	// whole or not at all, and durable on return. A file CreateTemp made is renamed
	// into place; any other, or one the rename fails for (another file system, a
	// file removed from its path while open), is copied. On nil the store has taken
	// the file: its path no longer holds it, and f, still open, reads the object.
	// On an error the caller removes the file's path, which may already be gone.
	TakeFile(ctx context.Context, h Handle, f *os.File, size int64) error
}
