package retry

import (
	"context"
	"io"

	"github.com/cairn-backup/cairn/remote"
)

// Put stores the body, again after a failure: the body reads from its start each time.
func (s *Store) Put(ctx context.Context, h remote.Handle, body remote.Body) error {
	return s.do(ctx, opName("put", h), func(ctx context.Context) error { return s.Storage.Put(ctx, h, body) })
}

// PutUnconfirmed puts through the inner store's PutUnconfirmed, retrying; a store
// that checks each Put itself is put with Put, and its object needs no Confirm.
func (s *Store) PutUnconfirmed(ctx context.Context, h remote.Handle, body remote.Body) (remote.Sent, error) {
	c, ok := s.Storage.(remote.Confirmer)
	if !ok {
		return remote.Sent{Handle: h, Size: body.Size()}, s.Put(ctx, h, body)
	}
	var sent remote.Sent
	err := s.do(ctx, opName("put", h), func(ctx context.Context) error {
		var err error
		sent, err = c.PutUnconfirmed(ctx, h, body)
		return err
	})
	return sent, err
}

// Confirm retries a failed check; see remote.Confirmer.
func (s *Store) Confirm(ctx context.Context, objs []remote.Sent) ([]remote.Sent, error) {
	c, ok := s.Storage.(remote.Confirmer)
	if !ok {
		return nil, nil // every object was checked by its Put
	}
	var bad []remote.Sent
	err := s.do(ctx, "confirm uploads", func(ctx context.Context) error {
		var err error
		bad, err = c.Confirm(ctx, objs)
		return err
	})
	return bad, err
}

// Stat returns the object's size.
func (s *Store) Stat(ctx context.Context, h remote.Handle) (remote.Info, error) {
	var info remote.Info
	err := s.do(ctx, opName("stat", h), func(ctx context.Context) error {
		var err error
		info, err = s.Storage.Stat(ctx, h)
		return err
	})
	return info, err
}

// Delete removes the object.
func (s *Store) Delete(ctx context.Context, h remote.Handle) error {
	return s.do(ctx, opName("delete", h), func(ctx context.Context) error { return s.Storage.Delete(ctx, h) })
}

// DeleteMany deletes in batches where the inner store can, retrying each batch as a
// whole (deleting twice is harmless); otherwise one retried Delete each.
func (s *Store) DeleteMany(ctx context.Context, t remote.Type, names []string) error {
	b, ok := s.Storage.(remote.BatchDeleter)
	if !ok {
		return remote.DeleteEach(ctx, s, t, names)
	}
	return s.do(ctx, "delete "+string(t), func(ctx context.Context) error { return b.DeleteMany(ctx, t, names) })
}

// List retries a listing that failed before it reported any object. Once fn has seen
// objects, a failure is returned as it is: a repeated listing would report them twice.
func (s *Store) List(ctx context.Context, t remote.Type, fn func(remote.Info) error) error {
	var fnErr error
	delivered := false
	err := s.do(ctx, "list "+string(t), func(ctx context.Context) error {
		err := s.Storage.List(ctx, t, func(info remote.Info) error {
			delivered = true
			fnErr = fn(info)
			return fnErr
		})
		if err != nil && (fnErr != nil || delivered) {
			return &final{err}
		}
		return err
	})
	if fnErr != nil {
		return fnErr
	}
	return err
}

// Get opens the range, retrying; a body that fails part way is resumed from where it
// broke (see resumer).
func (s *Store) Get(ctx context.Context, h remote.Handle, offset, length int64) (io.ReadCloser, error) {
	var rc io.ReadCloser
	err := s.do(ctx, opName("get", h), func(ctx context.Context) error {
		var err error
		rc, err = s.Storage.Get(ctx, h, offset, length)
		return err
	})
	if err != nil {
		return nil, err
	}
	return &resumer{s: s, ctx: ctx, h: h, offset: offset, length: length, rc: rc}, nil
}

// opName names an operation for a person: "put data/1f2e3d4c5b6a", the object's name
// shortened as cairn prints ids.
func opName(verb string, h remote.Handle) string {
	if len(h.Name) > 12 {
		h.Name = h.Name[:12]
	}
	return verb + " " + h.String()
}
