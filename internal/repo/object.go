package repo

import (
	"context"
	"errors"
	"fmt"
	"sort"

	"github.com/cairn-backup/cairn/internal/crypto"
	"github.com/cairn-backup/cairn/internal/digest"
	"github.com/cairn-backup/cairn/remote"
)

// maxSnapshotSize bounds a snapshot record read from the repository.
const maxSnapshotSize = 16 << 20

// Sealed objects (snapshots, index segments) are named by the SHA-256 of their
// plaintext, and that name is bound into the associated data: a copy under another
// name, type or repository does not open.
func (r *Repo) objectAD(t remote.Type, id digest.ID) []byte {
	return crypto.AD(r.cfg.ID, string(t), id[:])
}

func (r *Repo) saveObject(ctx context.Context, t remote.Type, plain []byte) (digest.ID, error) {
	id, h, sealed := r.sealObject(t, plain)
	if err := r.store.Put(ctx, h, remote.Bytes(sealed)); err != nil {
		return id, fmt.Errorf("write %s: %w", h, err)
	}
	r.cacheObject(t, h, sealed)
	return id, nil
}

// sealObject encrypts an object under its name.
func (r *Repo) sealObject(t remote.Type, plain []byte) (digest.ID, remote.Handle, []byte) {
	id := digest.Of(plain)
	return id, remote.Handle{Type: t, Name: id.String()}, r.key.Seal(nil, plain, r.objectAD(t, id))
}

func (r *Repo) cacheObject(t remote.Type, h remote.Handle, sealed []byte) {
	if cacheable(t) {
		r.cache.put(string(t), h.Name, sealed)
	}
}

func (r *Repo) openObject(t remote.Type, id digest.ID, sealed []byte) ([]byte, error) {
	h := remote.Handle{Type: t, Name: id.String()}
	plain, err := r.key.Open(nil, sealed, r.objectAD(t, id))
	if err != nil {
		return nil, fmt.Errorf("%s: %w (damaged, or moved from another name, type or repository)", h, err)
	}
	if digest.Of(plain) != id {
		return nil, fmt.Errorf("%s: %w: content does not match its name", h, ErrCorrupt)
	}
	return plain, nil
}

// cacheable types are read by most commands and never change once written.
func cacheable(t remote.Type) bool {
	return t == remote.Index || t == remote.Snapshot || t == remote.Mark
}

// loadObject reads a sealed object, through the cache for index segments and
// snapshots; a cached copy that fails to open is dropped and fetched again.
func (r *Repo) loadObject(ctx context.Context, t remote.Type, id digest.ID, limit int64) ([]byte, error) {
	if cacheable(t) {
		if sealed, ok := r.cache.get(string(t), id.String()); ok {
			if plain, err := r.openObject(t, id, sealed); err == nil {
				return plain, nil
			}
			r.cache.remove(string(t), id.String())
		}
	}
	h := remote.Handle{Type: t, Name: id.String()}
	sealed, err := remote.ReadAll(ctx, r.store, h, 0, 0, limit+crypto.Overhead)
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", h, err)
	}
	plain, err := r.openObject(t, id, sealed)
	if err != nil {
		return nil, err
	}
	if t == remote.Snapshot {
		r.fromStorage.Store(id, true)
	}
	if cacheable(t) {
		r.cache.put(string(t), h.Name, sealed)
	}
	return plain, nil
}

// CheckStoredSnapshot reads the snapshot record id from the storage itself, never from
// the cache, and opens it: the storage is the truth, and a cached copy must not hide
// that the stored record is damaged or gone (a new machine, without the cache, could
// not read it). A record that fails is dropped from the cache too. One this Repo
// already read from the storage (a cache that lacked it) is not read again.
func (r *Repo) CheckStoredSnapshot(ctx context.Context, id digest.ID) error {
	if _, ok := r.fromStorage.Load(id); ok {
		return nil
	}
	h := remote.Handle{Type: remote.Snapshot, Name: id.String()}
	sealed, err := remote.ReadAll(ctx, r.store, h, 0, 0, maxSnapshotSize+crypto.Overhead)
	if err == nil {
		_, err = r.openObject(remote.Snapshot, id, sealed)
	} else {
		err = fmt.Errorf("read %s: %w", h, err)
	}
	if err != nil && ctx.Err() == nil {
		r.cache.remove(string(remote.Snapshot), id.String())
	}
	return err
}

// listIDs lists the objects of type t. Names that are not ids are reported as
// damage, not skipped: a stranger in the repository is worth knowing about.
func (r *Repo) listIDs(ctx context.Context, t remote.Type) ([]digest.ID, error) {
	ids, _, err := r.listSized(ctx, t)
	return ids, err
}

// listSized is listIDs with the size the storage lists for each object.
func (r *Repo) listSized(ctx context.Context, t remote.Type) ([]digest.ID, map[digest.ID]int64, error) {
	return r.listSizedFrom(ctx, t, r.store.List)
}

// lister is remote.Storage's List, or Repo.listFirst.
type lister func(ctx context.Context, t remote.Type, fn func(remote.Info) error) error

// listSizedFrom is listSized through list.
func (r *Repo) listSizedFrom(ctx context.Context, t remote.Type, list lister) ([]digest.ID, map[digest.ID]int64, error) {
	var ids []digest.ID
	sizes := map[digest.ID]int64{}
	var bad []error
	err := list(ctx, t, func(i remote.Info) error {
		id, err := digest.Parse(i.Name)
		if err != nil {
			bad = append(bad, fmt.Errorf("%s/%s: %w", t, i.Name, ErrCorrupt))
			return nil
		}
		ids = append(ids, id)
		sizes[id] = i.Size
		return nil
	})
	if err != nil {
		return nil, nil, fmt.Errorf("list %s: %w", t, err)
	}
	sort.Slice(ids, func(i, j int) bool { return ids[i].String() < ids[j].String() })
	return ids, sizes, errors.Join(bad...)
}

// SaveSnapshot stores a snapshot record. Call it only after the writers' Flush: the
// record must never reach the repository before the data it names.
func (r *Repo) SaveSnapshot(ctx context.Context, record []byte) (digest.ID, error) {
	if len(record) > maxSnapshotSize {
		return digest.ID{}, fmt.Errorf("snapshot record of %d bytes exceeds %d", len(record), maxSnapshotSize)
	}
	if r.writing() {
		return digest.ID{}, errors.New("save snapshot: blobs are still being written (call Flush first)")
	}
	return r.saveObject(ctx, remote.Snapshot, record)
}

// PutSnapshot is SaveSnapshot leaving the check of what the storage holds to the
// Upload's Confirm, so that the caller can send other requests beside it (a backup's
// check after writing, docs/prune.md). The record is cached once confirmed.
func (r *Repo) PutSnapshot(ctx context.Context, record []byte) (digest.ID, *Upload, error) {
	if len(record) > maxSnapshotSize {
		return digest.ID{}, nil, fmt.Errorf("snapshot record of %d bytes exceeds %d", len(record), maxSnapshotSize)
	}
	if r.writing() {
		return digest.ID{}, nil, errors.New("save snapshot: blobs are still being written (call Flush first)")
	}
	id, h, sealed := r.sealObject(remote.Snapshot, record)
	u, err := r.upload(ctx, h, sealed)
	if err != nil {
		return id, nil, fmt.Errorf("write %s: %w", h, err)
	}
	u.cache = true
	return id, u, nil
}

// Snapshots lists the ids of all snapshot records.
func (r *Repo) Snapshots(ctx context.Context) ([]digest.ID, error) {
	return r.listIDs(ctx, remote.Snapshot)
}

// LoadSnapshot reads one snapshot record.
func (r *Repo) LoadSnapshot(ctx context.Context, id digest.ID) ([]byte, error) {
	return r.loadObject(ctx, remote.Snapshot, id, maxSnapshotSize)
}
