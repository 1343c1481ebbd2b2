package remote

import (
	"context"
	"errors"
	"time"
)

// LockMode is how an object lock binds (S3 Object Lock). Under governance a user with
// the permission to bypass it (s3:BypassGovernanceRetention) may still shorten or
// remove the lock; under compliance no one can, not even the account's root, until
// the date has passed.
type LockMode string

// The lock modes.
const (
	Governance LockMode = "governance"
	Compliance LockMode = "compliance"
)

// Retention is an object's lock: the object cannot be deleted (its stored version)
// before Until. A zero Until is no lock.
type Retention struct {
	Mode  LockMode
	Until time.Time
}

// Locked reports whether the retention still binds at now.
func (r Retention) Locked(now time.Time) bool { return !r.Until.IsZero() && now.Before(r.Until) }

var (
	// ErrNoLock: the store cannot lock objects (a local directory, a bucket made
	// without Object Lock, a server without it).
	ErrNoLock = errors.New("object lock not available")
	// ErrLocked: the object is under a retention that forbids the request.
	ErrLocked = errors.New("object locked")
)

// Locker is a store that can lock objects against deletion until a date (S3 Object
// Lock). Writes are locked through LockWrites, so that callers keep using Put and
// PutUnconfirmed.
type Locker interface {
	// CheckLock fails wrapping ErrNoLock unless the store can lock objects.
	CheckLock(ctx context.Context) error
	// LockWrites makes every later Put and PutUnconfirmed of an object of one of the
	// types write it locked in mode until d past the moment of the write (by this
	// host's clock). A d of 0 stops locking writes.
	LockWrites(mode LockMode, d time.Duration, types ...Type)
	// Retention returns the lock of the object's current version (a zero Until: none).
	Retention(ctx context.Context, h Handle) (Retention, error)
	// Retain sets the object's lock to r. A store refuses to shorten a lock, and under
	// compliance to change its mode, with an error wrapping ErrLocked (or ErrPermission).
	Retain(ctx context.Context, h Handle, r Retention) error
}
