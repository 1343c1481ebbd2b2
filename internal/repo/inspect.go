package repo

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/cairn-backup/cairn/internal/crypto"
	"github.com/cairn-backup/cairn/internal/digest"
	"github.com/cairn-backup/cairn/remote"
)

// Looking at single objects for debugging (`cairn cat`): each is found by a unique
// prefix of its name and returned decoded, never with key material.

// resolve finds the one object of type t whose name starts with prefix.
func (r *Repo) resolve(ctx context.Context, t remote.Type, prefix string) (remote.Info, error) {
	var found []remote.Info
	err := r.store.List(ctx, t, func(i remote.Info) error {
		if strings.HasPrefix(i.Name, prefix) {
			found = append(found, i)
		}
		return nil
	})
	switch {
	case err != nil:
		return remote.Info{}, fmt.Errorf("list %s: %w", t, err)
	case prefix == "" || len(found) == 0:
		return remote.Info{}, fmt.Errorf("no %s object %q", t, prefix)
	case len(found) > 1:
		return remote.Info{}, fmt.Errorf("%s prefix %q is ambiguous (%d objects)", t, prefix, len(found))
	}
	return found[0], nil
}

func (r *Repo) resolveID(ctx context.Context, t remote.Type, prefix string) (digest.ID, remote.Info, error) {
	info, err := r.resolve(ctx, t, prefix)
	if err != nil {
		return digest.ID{}, info, err
	}
	id, err := digest.Parse(info.Name)
	if err != nil {
		return id, info, fmt.Errorf("%s/%s: %w", t, info.Name, ErrCorrupt)
	}
	return id, info, nil
}

// SnapshotRecord returns the id and plaintext record of the snapshot whose id starts
// with prefix, as stored (records that no longer decode are shown too).
func (r *Repo) SnapshotRecord(ctx context.Context, prefix string) (digest.ID, []byte, error) {
	id, _, err := r.resolveID(ctx, remote.Snapshot, prefix)
	if err != nil {
		return id, nil, err
	}
	rec, err := r.LoadSnapshot(ctx, id)
	return id, rec, err
}

// IndexSegment returns the entries of the index segment whose id starts with prefix,
// and the older segments it supersedes.
func (r *Repo) IndexSegment(ctx context.Context, prefix string) (digest.ID, []IndexEntry, []digest.ID, error) {
	id, _, err := r.resolveID(ctx, remote.Index, prefix)
	if err != nil {
		return id, nil, nil, err
	}
	seg, err := r.loadSegment(ctx, id)
	if err != nil {
		return id, nil, nil, err
	}
	es, _ := flatten(seg)
	return id, es, seg.Supersedes, nil
}

// PackBlobs returns the size of the pack whose id starts with prefix and the blobs its
// own header lists.
func (r *Repo) PackBlobs(ctx context.Context, prefix string) (digest.ID, int64, []Blob, error) {
	id, info, err := r.resolveID(ctx, remote.Data, prefix)
	if err != nil {
		return id, 0, nil, err
	}
	p, err := r.ReadPackHeader(ctx, id, info.Size)
	if err != nil {
		return id, info.Size, nil, err
	}
	blobs := make([]Blob, len(p.Blobs))
	for i, b := range p.Blobs {
		blobs[i] = Blob{Type: b.Type, ID: b.ID, Pack: id, Offset: b.Offset, Length: b.Length}
	}
	return id, info.Size, blobs, nil
}

// KeyDetail is a key file without its wrapped master key.
type KeyDetail struct {
	Name    string     `json:"name"`
	Version int        `json:"version"`
	Repo    digest.ID  `json:"repository"`
	Created time.Time  `json:"created"`
	Host    string     `json:"host,omitempty"`
	User    string     `json:"user,omitempty"`
	KDF     crypto.KDF `json:"kdf"`
}

// KeyFile returns the key file whose name starts with prefix, without the wrapped
// master key: what cat shows must not help an offline password search.
func (r *Repo) KeyFile(ctx context.Context, prefix string) (KeyDetail, error) {
	name, err := r.ResolveKey(ctx, prefix)
	if err != nil {
		return KeyDetail{}, err
	}
	kf, err := r.loadKeyFile(ctx, name)
	if err != nil {
		return KeyDetail{}, err
	}
	return KeyDetail{Name: name, Version: kf.Version, Repo: kf.Repo, Created: kf.Created, Host: kf.Host, User: kf.User, KDF: kf.KDF}, nil
}

// ResolveBlob finds the one indexed blob of type t whose id starts with prefix (load
// the index first).
func (r *Repo) ResolveBlob(t BlobType, prefix string) (Blob, error) {
	var found []Blob
	err := r.EachBlob(func(b Blob) bool {
		if b.Type == t && strings.HasPrefix(b.ID.String(), prefix) {
			found = append(found, b)
		}
		return len(found) < 2
	})
	switch {
	case err != nil:
		return Blob{}, err
	case prefix == "" || len(found) == 0:
		return Blob{}, fmt.Errorf("%s blob %q: %w", t, prefix, ErrBlobNotFound)
	case len(found) > 1:
		return Blob{}, fmt.Errorf("%s blob prefix %q is ambiguous", t, prefix)
	}
	return found[0], nil
}
