package remote

import (
	"context"
	"time"
)

// Hidden is an object whose current version is a delete marker (S3 versioning) over a
// stored version that is still locked. cairn never deletes a locked object, so such a
// marker was made by someone else: a plain DELETE (without a version id) with the
// bucket's keys, the one delete Object Lock cannot refuse. The locked version is
// intact, and a store that sees through markers reads it.
type Hidden struct {
	Handle
	Version string    // the newest stored version, which reads see through to
	Size    int64     // its size
	ModTime time.Time // when the storage wrote it
	Until   time.Time // its lock
	Markers []string  // the version ids of the delete markers over it, newest first
	// Forged are the version ids of other bytes put over it (an overwrite), newest
	// first: reads see the locked version, never these.
	Forged []string
}

// Unhider is a store that sees through delete markers over locked versions: its
// listings include the hidden objects, and its reads of them read the locked
// version. It is optional (a local directory has no versions).
type Unhider interface {
	// Hidden returns the hidden objects this store's listings and reads have met so
	// far, sorted by handle.
	Hidden() []Hidden
	// Unhide deletes the delete markers and forged versions over h's version (by
	// their version ids), so that it is the object's current version again.
	Unhide(ctx context.Context, h Hidden) error
}
