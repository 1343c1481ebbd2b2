package remote

import "context"

// TempLister is a store that writes temporary files beside its objects (a local
// directory: a Put writes a `.tmp-` file, then renames it into place). A process
// killed during a Put leaves its temporary file behind; verify reports such files and
// prune removes those older than its grace period. A temporary file is named by its
// path relative to the store, such as "data/ab/.tmp-123": never an object's name, so
// it can never be read or deleted as one. S3 has no temporary objects (the analogue,
// an incomplete multipart upload, is for a bucket lifecycle rule to remove).
type TempLister interface {
	// ListTemp calls fn for every temporary file, with its size and the storage's
	// time of its last write. An error from fn stops the listing and is returned; a
	// listing that fails part way returns an error, never a shorter listing.
	ListTemp(ctx context.Context, fn func(Info) error) error
	// DeleteTemp removes a temporary file ListTemp named. One already gone is no
	// error; a name that is no temporary file fails with ErrInvalidHandle.
	DeleteTemp(ctx context.Context, name string) error
}
