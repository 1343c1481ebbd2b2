package s3

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/minio/minio-go/v7"

	"github.com/cairn-backup/cairn/remote"
)

// Get returns a reader of the range; see remote.Storage. A range that ends past the
// object fails with remote.ErrInvalidRange, as in the local store, and a body shorter
// than promised ends in io.ErrUnexpectedEOF, never in a clean EOF.
func (s *Store) Get(ctx context.Context, h remote.Handle, offset, length int64) (io.ReadCloser, error) {
	if err := s.check(ctx, h); err != nil {
		return nil, fmt.Errorf("get %s: %w", h, err)
	}
	if offset < 0 || length < 0 {
		return nil, fmt.Errorf("get %s at %d+%d: %w", h, offset, length, remote.ErrInvalidRange)
	}
	rd, err := s.get(ctx, h, offset, length)
	if err != nil {
		return nil, fmt.Errorf("get %s at %d+%d: %w", h, offset, length, err)
	}
	return rd, nil
}

func (s *Store) get(ctx context.Context, h remote.Handle, offset, length int64) (io.ReadCloser, error) {
	version, err := s.hiddenVersion(ctx, h)
	if err != nil {
		return nil, err
	}
	ctx, hn := withHint(ctx)
	opts := minio.GetObjectOptions{VersionID: version}
	ranged := length > 0 || offset > 0
	if length > 0 {
		opts.Set("Range", fmt.Sprintf("bytes=%d-%d", offset, offset+length-1))
	} else if offset > 0 {
		opts.Set("Range", fmt.Sprintf("bytes=%d-", offset))
	}
	rc, info, header, err := s.core.GetObject(ctx, s.ep.bucket, s.key(h), opts)
	if err != nil {
		err = s.translate(ctx, err, hn)
		if errors.Is(err, remote.ErrInvalidRange) && length == 0 {
			// S3 refuses "bytes=size-", yet an empty read at the end is valid.
			return s.emptyAtEnd(ctx, h, offset, err)
		}
		return nil, err
	}
	skip, want, err := expect(header.Get("Content-Range"), info.Size, offset, length, ranged)
	if err != nil {
		rc.Close()
		return nil, err
	}
	return &countedBody{rc: rc, skip: skip, left: want}, nil
}

// emptyAtEnd answers a refused read "from offset to the end": empty if offset is the
// object's size, else the refusal.
func (s *Store) emptyAtEnd(ctx context.Context, h remote.Handle, offset int64, refusal error) (io.ReadCloser, error) {
	info, err := s.Stat(ctx, h)
	if err != nil {
		return nil, err
	}
	if info.Size != offset {
		return nil, refusal
	}
	return io.NopCloser(strings.NewReader("")), nil
}

// expect checks the answer's range against the one asked for and returns the bytes
// to skip (a server that ignored Range sends the whole object) and the bytes the
// body must hold (-1: unknown, trust the transport).
func expect(contentRange string, size, offset, length int64, ranged bool) (skip, want int64, err error) {
	if contentRange == "" {
		if !ranged {
			return 0, size, nil
		}
		if size < 0 || offset > size || length > size-offset {
			return 0, 0, fmt.Errorf("object of %d bytes: %w", size, remote.ErrInvalidRange)
		}
		if length == 0 {
			length = size - offset
		}
		return offset, length, nil
	}
	var first, last, total int64
	if _, err := fmt.Sscanf(contentRange, "bytes %d-%d/%d", &first, &last, &total); err != nil || first != offset || last < first {
		return 0, 0, fmt.Errorf("server sent range %q for offset %d", contentRange, offset)
	}
	got := last - first + 1
	if size >= 0 && size != got {
		return 0, 0, fmt.Errorf("server sent range %q with %d bytes", contentRange, size)
	}
	if length > 0 && got < length {
		return 0, 0, fmt.Errorf("object of %d bytes: %w", total, remote.ErrInvalidRange)
	}
	if length > 0 && got != length || length == 0 && got != total-offset {
		return 0, 0, fmt.Errorf("server sent range %q, want %d bytes from %d", contentRange, length, offset)
	}
	return 0, got, nil
}

// countedBody is an object body that counts: it skips what a server sent unasked, stops at
// the promised length, and turns an early end into io.ErrUnexpectedEOF.
type countedBody struct {
	rc   io.ReadCloser
	skip int64
	left int64 // -1: unknown
}

func (b *countedBody) Read(p []byte) (int, error) {
	if b.skip > 0 {
		n, err := io.CopyN(io.Discard, b.rc, b.skip)
		b.skip -= n
		if err != nil {
			return 0, shortBody(err)
		}
	}
	if b.left == 0 {
		return 0, io.EOF
	}
	if b.left > 0 && int64(len(p)) > b.left {
		p = p[:b.left]
	}
	n, err := b.rc.Read(p)
	if b.left > 0 {
		b.left -= int64(n)
	}
	if errors.Is(err, io.EOF) && b.left > 0 {
		return n, io.ErrUnexpectedEOF
	}
	if err != nil && !errors.Is(err, io.EOF) {
		return n, shortBody(err)
	}
	return n, err
}

func (b *countedBody) Close() error { return b.rc.Close() }

// shortBody keeps io.ErrUnexpectedEOF visible in a failed read.
func shortBody(err error) error {
	if errors.Is(err, io.EOF) {
		return io.ErrUnexpectedEOF
	}
	return fmt.Errorf("read body: %w", err)
}

// Stat returns the object's size.
func (s *Store) Stat(ctx context.Context, h remote.Handle) (remote.Info, error) {
	if err := s.check(ctx, h); err != nil {
		return remote.Info{}, fmt.Errorf("stat %s: %w", h, err)
	}
	version, err := s.hiddenVersion(ctx, h)
	if err != nil {
		return remote.Info{}, fmt.Errorf("stat %s: %w", h, err)
	}
	ctx, hn := withHint(ctx)
	info, err := s.client.StatObject(ctx, s.ep.bucket, s.key(h), minio.StatObjectOptions{VersionID: version})
	if err != nil {
		return remote.Info{}, fmt.Errorf("stat %s: %w", h, s.translate(ctx, err, hn))
	}
	return remote.Info{Name: h.Name, Size: info.Size, ModTime: info.LastModified}, nil
}

// Delete removes the object; a missing one is no error.
func (s *Store) Delete(ctx context.Context, h remote.Handle) error {
	if err := s.check(ctx, h); err != nil {
		return fmt.Errorf("delete %s: %w", h, err)
	}
	ctx, hn := withHint(ctx)
	err := s.translate(ctx, s.client.RemoveObject(ctx, s.ep.bucket, s.key(h), minio.RemoveObjectOptions{}), hn)
	if err != nil && !errors.Is(err, remote.ErrNotFound) {
		return fmt.Errorf("delete %s: %w", h, err)
	}
	return nil
}

// maxDeleteKeys is what one DeleteObjects request may carry.
const maxDeleteKeys = 1000

// DeleteMany deletes objects with DeleteObjects, up to 1,000 keys a request. S3
// reports a missing key as deleted, as Delete treats it.
func (s *Store) DeleteMany(ctx context.Context, t remote.Type, names []string) error {
	for len(names) > 0 {
		n := min(len(names), maxDeleteKeys)
		if err := s.deleteBatch(ctx, t, names[:n]); err != nil {
			return err
		}
		names = names[n:]
	}
	return nil
}

func (s *Store) deleteBatch(ctx context.Context, t remote.Type, names []string) error {
	objs := make(chan minio.ObjectInfo, len(names))
	for _, name := range names {
		h := remote.Handle{Type: t, Name: name}
		if err := s.check(ctx, h); err != nil {
			close(objs)
			return fmt.Errorf("delete %s: %w", h, err)
		}
		objs <- minio.ObjectInfo{Key: s.key(h)}
	}
	close(objs)
	ctx, hn := withHint(ctx)
	var errs []error
	for res := range s.client.RemoveObjects(ctx, s.ep.bucket, objs, minio.RemoveObjectsOptions{}) {
		if err := s.translate(ctx, res.Err, hn); err != nil && !errors.Is(err, remote.ErrNotFound) {
			errs = append(errs, fmt.Errorf("delete %s: %w", res.ObjectName, err))
		}
	}
	return errors.Join(errs...)
}
