package repo

import (
	"context"
	"encoding/json"
	"fmt"
	"sync"
	"time"

	"github.com/cairn-backup/cairn/internal/digest"
	"github.com/cairn-backup/cairn/remote"
	"golang.org/x/sync/errgroup"
)

// LockStats counts what ExtendLocks did.
type LockStats struct {
	Needed   int // locked objects the snapshot needs
	Read     int // locks read from the storage (an extension was refused: the lock already lasts longer)
	Extended int // locks extended
}

// lockRequests bounds the lock requests in flight, as uploads are bounded.
const lockRequests = 8

// ExtendLocks makes every object snapshot snap needs (its packs, the index segments,
// the key files and the config) locked at least lock-for past the snapshot's time. A
// lock known to be long enough costs nothing: every object was written locked
// lock-for + one period past its write (by the storage's time of the write, less a
// margin for clocks), and the locks this client extended are recorded in its cache.
// Only the others are read, and only those ending too early are extended, to
// lock-for + one period from now: a nightly backup extends a reused pack at most
// once a period.
func (r *Repo) ExtendLocks(ctx context.Context, snap Snapshot) (LockStats, error) {
	lc := r.cfg.ObjectLock
	if lc == nil {
		return LockStats{}, nil
	}
	l, err := r.locker()
	if err != nil {
		return LockStats{}, err
	}
	known, err := r.neededLocks(ctx, snap)
	if err != nil {
		return LockStats{}, fmt.Errorf("extend locks: %w", err)
	}
	rec := r.loadLockRecord()
	need := snap.Time.Add(lc.Duration())
	until := r.opts.now().Add(lc.Duration() + lc.Period()).UTC().Truncate(time.Second).Add(time.Second)
	st := LockStats{Needed: len(known)}
	var mu sync.Mutex
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(lockRequests)
	for h, bound := range known {
		if rb, ok := rec[h.String()]; ok && time.Unix(rb, 0).After(bound) {
			bound = time.Unix(rb, 0)
		}
		if !bound.Before(need) {
			continue
		}
		g.Go(func() error {
			got, extended, read, err := extendLock(gctx, l, h, remote.Retention{Mode: lc.Mode, Until: until}, need)
			if err != nil {
				return err
			}
			mu.Lock()
			defer mu.Unlock()
			if read {
				st.Read++
			}
			if extended {
				st.Extended++
			}
			rec[h.String()] = got.Unix()
			return nil
		})
	}
	err = g.Wait()
	r.saveLockRecord(rec)
	if err != nil {
		return st, fmt.Errorf("extend locks: %w", err)
	}
	return st, nil
}

// extendLock sets h's lock to want with one request. The store refuses to shorten a
// lock (another host may have extended it further): then the lock is read, and it is
// enough if it lasts until need. It returns the lock's end, whether it was extended,
// and whether it was read.
func extendLock(ctx context.Context, l remote.Locker, h remote.Handle, want remote.Retention, need time.Time) (time.Time, bool, bool, error) {
	rerr := l.Retain(ctx, h, want)
	if rerr == nil {
		return want.Until, true, false, nil
	}
	if ctx.Err() != nil {
		return time.Time{}, false, false, rerr
	}
	ret, err := l.Retention(ctx, h)
	if err != nil {
		return time.Time{}, false, true, fmt.Errorf("%w (and reading its lock: %w)", rerr, err)
	}
	if ret.Until.Before(need) {
		return time.Time{}, false, true, rerr
	}
	return ret.Until, false, true, nil
}

// neededLocks returns the locked objects snap needs, each with the earliest its lock
// can end by the storage's time of its write.
func (r *Repo) neededLocks(ctx context.Context, snap Snapshot) (map[remote.Handle]time.Time, error) {
	lc := r.cfg.ObjectLock
	margin := min(5*time.Minute, lc.Period()/2)
	bound := func(written time.Time) time.Time {
		if written.IsZero() {
			return time.Time{}
		}
		return written.Add(lc.Duration() + lc.Period() - margin)
	}
	out := map[remote.Handle]time.Time{}
	for _, t := range []remote.Type{remote.Config, remote.Key, remote.Index} {
		err := r.store.List(ctx, t, func(i remote.Info) error {
			out[remote.Handle{Type: t, Name: i.Name}] = bound(i.ModTime)
			return nil
		})
		if err != nil {
			return nil, fmt.Errorf("list %s: %w", t, err)
		}
	}
	packs, err := r.packsOf(ctx, snap)
	if err != nil {
		return nil, err
	}
	for id := range packs {
		var written time.Time
		if r.stored != nil {
			var ok bool
			if written, ok = r.stored.written[id]; !ok {
				// Not listed when the backup began: written since, so locked from then.
				written = r.stored.listedAt
			}
		}
		out[remote.Handle{Type: remote.Data, Name: id.String()}] = bound(written)
	}
	return out, nil
}

// packsOf returns the packs holding the blobs snap needs.
func (r *Repo) packsOf(ctx context.Context, snap Snapshot) (map[digest.ID]bool, error) {
	used, err := r.UsedBlobs(ctx, []Snapshot{snap})
	if err != nil {
		return nil, err
	}
	packs := map[digest.ID]bool{}
	for b := range used {
		loc, ok := r.lookup(b.Type, b.ID)
		if !ok {
			return nil, fmt.Errorf("%w: blob %s is in no pack", ErrCorrupt, b.ID.Short())
		}
		packs[loc.Pack] = true
	}
	return packs, nil
}

// The lock record maps an object ("data/<id>") to the Unix time its lock ends, as this
// client last read or set it; it lives in the cache, and without one every lock that a
// listing cannot vouch for is read again.
const lockRecordKind, lockRecordName = "locks", "retention"

func (r *Repo) loadLockRecord() map[string]int64 {
	rec := map[string]int64{}
	if data, ok := r.cache.get(lockRecordKind, lockRecordName); ok {
		_ = json.Unmarshal(data, &rec) // a damaged record is an empty one
	}
	return rec
}

func (r *Repo) saveLockRecord(rec map[string]int64) {
	now := r.opts.now().Unix()
	for k, until := range rec {
		if until < now {
			delete(rec, k) // ended: a later run reads it again anyway
		}
	}
	if data, err := json.Marshal(rec); err == nil {
		r.cache.put(lockRecordKind, lockRecordName, data)
	}
}
