package repo

import (
	"context"
	"fmt"
	"time"

	"github.com/cairn-backup/cairn/remote"
)

// LockConfig is the object lock of a repository made with init --object-lock: every
// object a snapshot needs is locked at least LockFor past the snapshot's time.
type LockConfig struct {
	Mode    remote.LockMode `json:"mode"`             // governance or compliance
	LockFor int64           `json:"lock_for_seconds"` // the default --lock-for
}

// Duration returns how long past a snapshot's time its objects stay locked.
func (l LockConfig) Duration() time.Duration { return time.Duration(l.LockFor) * time.Second }

// Period is how far beyond lock-for a lock is set, so that a nightly backup extends
// the lock of a reused object at most once a period (a tenth of lock-for).
func (l LockConfig) Period() time.Duration { return l.Duration() / 10 }

func (l *LockConfig) validate() error {
	if l == nil {
		return nil
	}
	if l.Mode != remote.Governance && l.Mode != remote.Compliance {
		return fmt.Errorf("%w: object lock mode %q", ErrCorrupt, l.Mode)
	}
	if l.LockFor < 1 || l.LockFor > 100*365*24*3600 {
		return fmt.Errorf("%w: object lock of %d seconds", ErrCorrupt, l.LockFor)
	}
	return nil
}

// lockedTypes are the objects a snapshot needs: they are written locked and their
// locks extended. Run notes, marks and state records are not: prune removes them.
var lockedTypes = []remote.Type{remote.Data, remote.Index, remote.Snapshot, remote.Config, remote.Key}

// Locked reports whether objects of type t are locked in a repository with locks.
func Locked(t remote.Type) bool {
	for _, l := range lockedTypes {
		if l == t {
			return true
		}
	}
	return false
}

// LockConfig returns the repository's object lock, or nil.
func (r *Repo) LockConfig() *LockConfig { return r.cfg.ObjectLock }

// locker returns the store's locks, or an error when a repository with locks sits on a
// store that cannot lock.
func (r *Repo) locker() (remote.Locker, error) {
	l, ok := r.store.(remote.Locker)
	if !ok {
		return nil, fmt.Errorf("%w: the repository at %s locks its objects, but the store cannot", remote.ErrNoLock, r.store.Location())
	}
	return l, nil
}

// lockWrites makes the store lock every object a snapshot needs lock-for + one period
// past its write, so that a snapshot is locked at least lock-for past its time, and
// new objects need no extension for a period.
func (r *Repo) lockWrites(ctx context.Context, check bool) error {
	lc := r.cfg.ObjectLock
	if lc == nil {
		return nil
	}
	l, err := r.locker()
	if err != nil {
		return err
	}
	if check {
		if err := l.CheckLock(ctx); err != nil {
			return err
		}
	}
	l.LockWrites(lc.Mode, lc.Duration()+lc.Period(), lockedTypes...)
	return nil
}
