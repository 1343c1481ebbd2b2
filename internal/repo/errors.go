package repo

import (
	"errors"

	"github.com/cairn-backup/cairn/internal/crypto"
	"github.com/cairn-backup/cairn/internal/pack"
)

// Sentinel errors of the repository layer. Errors wrap them with %w; callers test with
// errors.Is, or with IsMissing and IsDamage, which also know the lower layers' errors.
// "Absent" and "damaged" are kept apart so that verify and restore can say which.
var (
	// ErrNoRepository: the location holds no repository (no config object), or none
	// was given.
	ErrNoRepository = errors.New("no repository")

	// ErrCorrupt: stored bytes that opened are not what they should be (a config, key
	// file, index segment or blob that does not parse, or whose content does not match
	// its name): damage, not absence.
	ErrCorrupt = errors.New("repository data is corrupt")

	// ErrVersion: the repository's format version is one this cairn cannot read.
	ErrVersion = errors.New("unsupported repository format")

	// ErrIdentity: the repository at a location is not the one this client pinned
	// there (another ID, master key or format version): substituted or replaced.
	ErrIdentity = errors.New("repository identity changed")

	// ErrBlobNotFound: a blob the index does not know: absent, as opposed to a blob
	// that is indexed but whose bytes are damaged (ErrCorrupt, crypto.ErrAuth).
	ErrBlobNotFound = errors.New("blob not in index")

	// ErrPackMissing: a pack the index names but the storage does not have.
	ErrPackMissing = errors.New("pack missing")

	// ErrSnapshotGone: a snapshot record the storage does not have (any more: a
	// forget on another client may delete it between a listing and the read).
	ErrSnapshotGone = errors.New("snapshot record not found")

	// ErrWrongPassword: no key file opens with the password given (crypto's sentinel,
	// named here so that commands need not import crypto).
	ErrWrongPassword = crypto.ErrWrongPassword
)

// IsMissing reports whether err means data the snapshot needs is absent: a blob the
// index does not know, or a pack the storage does not have.
func IsMissing(err error) bool {
	return errors.Is(err, ErrBlobNotFound) || errors.Is(err, ErrPackMissing)
}

// IsDamage reports whether err means stored bytes are damaged or foreign, as opposed
// to absent or unreachable.
func IsDamage(err error) bool {
	return errors.Is(err, ErrCorrupt) || errors.Is(err, crypto.ErrAuth) || errors.Is(err, pack.ErrCorrupt)
}
