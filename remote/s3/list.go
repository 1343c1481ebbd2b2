package s3

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/minio/minio-go/v7"

	"github.com/cairn-backup/cairn/remote"
)

// List reports the objects of type t, page by page. Keys that are no object of the
// layout (foreign names, data outside its shard) are skipped. A listing that fails or
// is cancelled part way returns an error: it must never look complete, or prune would
// delete what it cannot see.
func (s *Store) List(ctx context.Context, t remote.Type, fn func(remote.Info) error) error {
	if err := remote.ValidateType(t); err != nil {
		return fmt.Errorf("list %s: %w", t, err)
	}
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("list %s: %w", t, err)
	}
	if s.seeThrough {
		return s.listVersions(ctx, t, fn)
	}
	if t == remote.Config {
		return s.listConfig(ctx, fn)
	}
	// Cancelling on return stops minio-go's listing goroutine when fn quits early.
	lctx, cancel := context.WithCancel(ctx)
	defer cancel()
	lctx, hn := withHint(lctx)
	base := s.ep.prefix + string(t) + "/"
	objects := s.client.ListObjects(lctx, s.ep.bucket, minio.ListObjectsOptions{
		Prefix:    base,
		Recursive: t == remote.Data, // data sits one shard folder deeper
	})
	for obj := range objects {
		if obj.Err != nil {
			return fmt.Errorf("list %s: %w", t, s.translate(lctx, obj.Err, hn))
		}
		name, ok := objectName(t, strings.TrimPrefix(obj.Key, base))
		if !ok {
			continue
		}
		if err := fn(remote.Info{Name: name, Size: obj.Size, ModTime: obj.LastModified}); err != nil {
			return err // the caller's own error, unwrapped
		}
	}
	// minio-go may end a cancelled listing without an error.
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("list %s: %w", t, err)
	}
	return nil
}

// listConfig reports the config, if there is one.
func (s *Store) listConfig(ctx context.Context, fn func(remote.Info) error) error {
	info, err := s.Stat(ctx, remote.Handle{Type: remote.Config})
	if errors.Is(err, remote.ErrNotFound) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("list config: %w", err)
	}
	return fn(info)
}

// objectName returns the object name of a key relative to the type's folder.
func objectName(t remote.Type, rel string) (string, bool) {
	if t != remote.Data {
		return rel, !strings.Contains(rel, "/") && remote.ValidName(rel)
	}
	shard, name, ok := strings.Cut(rel, "/")
	ok = ok && len(shard) == 2 && !strings.Contains(name, "/") && strings.HasPrefix(name, shard)
	return name, ok && remote.Handle{Type: remote.Data, Name: name}.Validate() == nil
}
