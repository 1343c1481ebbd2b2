package s3

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/minio/minio-go/v7"

	"github.com/cairn-backup/cairn/remote"
)

var _ remote.Unhider = (*Store)(nil)

// seen is what a store that sees through delete markers (Options.SeeThrough) has
// found: per type, whether its versions were listed, and the hidden objects.
type seen struct {
	mu     sync.Mutex
	listed map[remote.Type]bool
	hidden map[remote.Handle]remote.Hidden
}

// version is one entry of a versioned listing.
type version struct {
	id, etag string
	marker   bool
	size     int64
	mod      time.Time
}

// listVersions lists every version of the objects of type t (ListObjectVersions),
// reports the object each key resolves to (see resolve), and records the hidden ones.
func (s *Store) listVersions(ctx context.Context, t remote.Type, fn func(remote.Info) error) error {
	lctx, cancel := context.WithCancel(ctx)
	defer cancel()
	lctx, hn := withHint(lctx)
	base := s.ep.prefix + string(t) + "/"
	if t == remote.Config {
		base = s.key(remote.Handle{Type: remote.Config})
	}
	objects := s.client.ListObjects(lctx, s.ep.bucket, minio.ListObjectsOptions{
		Prefix: base, Recursive: t == remote.Data, WithVersions: true,
	})
	var (
		key string
		vs  []version
	)
	flush := func() error {
		if key == "" {
			return nil
		}
		return s.resolveKey(ctx, t, strings.TrimPrefix(key, base), vs, fn)
	}
	for obj := range objects {
		if obj.Err != nil {
			return fmt.Errorf("list versions of %s: %w", t, s.translate(lctx, obj.Err, hn))
		}
		if obj.Key != key {
			if err := flush(); err != nil {
				return err
			}
			key, vs = obj.Key, nil
		}
		vs = append(vs, version{id: obj.VersionID, etag: strings.Trim(obj.ETag, `"`), marker: obj.IsDeleteMarker,
			size: obj.Size, mod: obj.LastModified})
	}
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("list versions of %s: %w", t, err)
	}
	if err := flush(); err != nil {
		return err
	}
	s.seen.mu.Lock()
	s.seen.listed[t] = true
	s.seen.mu.Unlock()
	return nil
}

// resolveKey reports the version of one key that readers see, if any.
func (s *Store) resolveKey(ctx context.Context, t remote.Type, rel string, vs []version, fn func(remote.Info) error) error {
	name, ok := rel, rel == "" && t == remote.Config
	if t != remote.Config {
		name, ok = objectName(t, rel)
	}
	if !ok {
		return nil
	}
	h := remote.Handle{Type: t, Name: name}
	v, hidden, err := s.resolve(ctx, h, vs)
	if err != nil || v == nil {
		return err
	}
	s.seen.mu.Lock()
	if hidden != nil {
		s.seen.hidden[h] = *hidden
	} else {
		delete(s.seen.hidden, h)
	}
	s.seen.mu.Unlock()
	return fn(remote.Info{Name: name, Size: v.size, ModTime: v.mod})
}

// resolve picks the version of h that readers see, from its versions newest first:
// the current one, unless delete markers or other bytes were put over the oldest
// version that is still locked. cairn never deletes a locked object and never writes
// other bytes under a name (a name is its content's hash; a repeated upload writes the
// same bytes), so what lies over a locked version was put there by someone else, and
// the locked version is the one cairn wrote. A nil version: the object is deleted.
func (s *Store) resolve(ctx context.Context, h remote.Handle, vs []version) (*version, *remote.Hidden, error) {
	var stored []int
	for i, v := range vs {
		if !v.marker {
			stored = append(stored, i)
		}
	}
	if len(stored) == 0 {
		return nil, nil, nil
	}
	if !vs[0].marker && sameBytes(vs, stored) {
		return &vs[0], nil, nil // the usual case: no request
	}
	now := time.Now()
	for k := len(stored) - 1; k >= 0; k-- {
		i := stored[k]
		r, err := s.retention(ctx, h, vs[i].id)
		if err != nil {
			return nil, nil, err
		}
		if !r.Locked(now) {
			continue
		}
		hd := remote.Hidden{Handle: h, Version: vs[i].id, Size: vs[i].size, ModTime: vs[i].mod, Until: r.Until}
		for _, v := range vs[:i] {
			switch {
			case v.marker:
				hd.Markers = append(hd.Markers, v.id)
			case v.etag != vs[i].etag || v.size != vs[i].size:
				hd.Forged = append(hd.Forged, v.id)
			}
		}
		if len(hd.Markers) == 0 && len(hd.Forged) == 0 {
			return &vs[i], nil, nil
		}
		return &vs[i], &hd, nil
	}
	if vs[0].marker {
		return nil, nil, nil // deleted after its lock ended (or never locked)
	}
	return &vs[0], nil, nil
}

// sameBytes reports whether the stored versions all hold the same bytes (repeated
// uploads of one object).
func sameBytes(vs []version, stored []int) bool {
	for _, i := range stored[1:] {
		if vs[i].etag != vs[stored[0]].etag || vs[i].size != vs[stored[0]].size {
			return false
		}
	}
	return true
}

// retention reads the lock of one version of h.
func (s *Store) retention(ctx context.Context, h remote.Handle, versionID string) (remote.Retention, error) {
	ctx, hn := withHint(ctx)
	mode, until, err := s.client.GetObjectRetention(ctx, s.ep.bucket, s.key(h), versionID)
	if err != nil {
		var resp minio.ErrorResponse
		if errors.As(err, &resp) && resp.Code == "NoSuchObjectLockConfiguration" {
			return remote.Retention{}, nil
		}
		return remote.Retention{}, fmt.Errorf("retention %s%s: %w", h, versionSuffix(versionID), s.translate(ctx, err, hn))
	}
	var r remote.Retention
	if mode != nil {
		r.Mode = remote.LockMode(strings.ToLower(string(*mode)))
	}
	if until != nil {
		r.Until = *until
	}
	return r, nil
}

// hiddenVersion returns the version a read of h sees through to ("" for the current
// one). Without Options.SeeThrough it is always "". The first read of a type lists
// its versions once; later reads cost nothing.
func (s *Store) hiddenVersion(ctx context.Context, h remote.Handle) (string, error) {
	if !s.seeThrough {
		return "", nil
	}
	s.seen.mu.Lock()
	listed := s.seen.listed[h.Type]
	s.seen.mu.Unlock()
	if !listed {
		if err := s.listVersions(ctx, h.Type, func(remote.Info) error { return nil }); err != nil {
			return "", err
		}
	}
	s.seen.mu.Lock()
	defer s.seen.mu.Unlock()
	return s.seen.hidden[h].Version, nil
}

// Hidden returns the hidden objects met so far, sorted (see remote.Unhider).
func (s *Store) Hidden() []remote.Hidden {
	s.seen.mu.Lock()
	defer s.seen.mu.Unlock()
	out := make([]remote.Hidden, 0, len(s.seen.hidden))
	for _, h := range s.seen.hidden {
		out = append(out, h)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].String() < out[j].String() })
	return out
}

// Unhide deletes, by version id, the delete markers and the other bytes put over h's
// locked version. A version under its own lock is refused by the server.
func (s *Store) Unhide(ctx context.Context, h remote.Hidden) error {
	if err := s.check(ctx, h.Handle); err != nil {
		return fmt.Errorf("unhide %s: %w", h.Handle, err)
	}
	for _, id := range append(append([]string(nil), h.Markers...), h.Forged...) {
		ctx, hn := withHint(ctx)
		err := s.client.RemoveObject(ctx, s.ep.bucket, s.key(h.Handle), minio.RemoveObjectOptions{VersionID: id})
		if err = s.translate(ctx, err, hn); err != nil && !errors.Is(err, remote.ErrNotFound) {
			return fmt.Errorf("unhide %s: delete version %s: %w", h.Handle, id, err)
		}
	}
	s.seen.mu.Lock()
	delete(s.seen.hidden, h.Handle)
	s.seen.mu.Unlock()
	return nil
}

func versionSuffix(id string) string {
	if id == "" {
		return ""
	}
	return " version " + id
}
