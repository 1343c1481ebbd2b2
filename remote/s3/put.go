package s3

import (
	"context"
	"crypto/md5"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"io"

	"github.com/minio/minio-go/v7"

	"github.com/cairn-backup/cairn/remote"
)

// ErrUnconfirmed: the server acknowledged an upload, but the object is missing or
// holds other bytes. Transient: a retry may well succeed.
var ErrUnconfirmed = errors.New("upload not confirmed by the server")

// nonceMeta is user metadata naming the Put that wrote an object, so the check after
// an upload tells its own object from one a concurrent Put wrote.
const nonceMeta = "Cairn-Put"

// Put uploads the body in one request (objects are at most a few hundred MiB) and
// then confirms it; see confirm. A Put that returns nil has stored exactly the body.
func (s *Store) Put(ctx context.Context, h remote.Handle, body remote.Body) error {
	if err := s.check(ctx, h); err != nil {
		return fmt.Errorf("put %s: %w", h, err)
	}
	if err := s.put(ctx, h, body); err != nil {
		return fmt.Errorf("put %s: %w", h, err)
	}
	return nil
}

func (s *Store) put(ctx context.Context, h remote.Handle, body remote.Body) error {
	ctx, hn := withHint(ctx)
	nonce := newNonce()
	sent, putETag, err := s.send(ctx, hn, h, body, map[string]string{nonceMeta: nonce})
	if err != nil {
		return err
	}
	stat, err := s.client.StatObject(ctx, s.ep.bucket, s.key(h), minio.StatObjectOptions{})
	if err != nil {
		err = s.translate(ctx, err, hn)
		if errors.Is(err, remote.ErrNotFound) {
			// Not ErrNotFound itself: the caller must see a failed upload, not an absence.
			return fmt.Errorf("%w: the object is missing after the upload", ErrUnconfirmed)
		}
		return fmt.Errorf("confirm upload: %w", err)
	}
	return confirm(h, body.Size(), sent.MD5, putETag, nonce, stat)
}

// PutUnconfirmed uploads like Put but leaves the check of what was stored to Confirm,
// which checks many objects with one listing.
func (s *Store) PutUnconfirmed(ctx context.Context, h remote.Handle, body remote.Body) (remote.Sent, error) {
	if err := s.check(ctx, h); err != nil {
		return remote.Sent{}, fmt.Errorf("put %s: %w", h, err)
	}
	ctx, hn := withHint(ctx)
	sent, putETag, err := s.send(ctx, hn, h, body, nil)
	if err != nil {
		return remote.Sent{}, fmt.Errorf("put %s: %w", h, err)
	}
	if putETag != sent.MD5 {
		// An ETag that is not the body's MD5 is either a lie or server-side KMS; only
		// the HEAD of Put can tell them apart, so the listing checks the size alone.
		sent.MD5 = ""
	}
	return sent, nil
}

// send uploads the body in one request with its Content-MD5 and returns what was sent
// and the ETag of the answer.
func (s *Store) send(ctx context.Context, hn *hint, h remote.Handle, body remote.Body, meta map[string]string) (remote.Sent, string, error) {
	sum := md5.New()
	if _, err := io.Copy(sum, remote.Reader(body)); err != nil {
		return remote.Sent{}, "", fmt.Errorf("read body: %w", err)
	}
	sent := remote.Sent{Handle: h, Size: body.Size(), MD5: hex.EncodeToString(sum.Sum(nil))}
	mode, until := s.locks.options(h.Type)
	// Core.PutObject is always one request, and takes the Content-MD5 computed here
	// (what SendContentMd5 would compute again): the server refuses a body that does
	// not match it, and the ETag can be checked against it.
	info, err := s.core.PutObject(ctx, s.ep.bucket, s.key(h), remote.Reader(body), body.Size(),
		base64.StdEncoding.EncodeToString(sum.Sum(nil)), "", minio.PutObjectOptions{
			ContentType: "application/octet-stream",
			// No payload SHA-256 in the signature: Content-MD5 guards the body already
			// and cairn authenticates every object, so a second pass buys nothing.
			DisableContentSha256: true,
			UserMetadata:         meta,
			Mode:                 mode,
			RetainUntilDate:      until,
			StorageClass:         s.class,
		})
	if err != nil {
		return remote.Sent{}, "", s.translate(ctx, err, hn)
	}
	if info.ETag == "" {
		return remote.Sent{}, "", fmt.Errorf("%w: the answer has no ETag", ErrUnconfirmed)
	}
	return sent, info.ETag, nil
}

// confirm compares what the server says it stored with what was sent. The ETag of
// a single-part upload is the MD5 of the body, except under SSE-KMS and SSE-C.
// Another whole object under the name is accepted when it has the same bytes (another
// client uploaded the same pack) or, outside data, when a later Put replaced ours:
// only data objects are named by their content, so only there is any other object
// damage.
func confirm(h remote.Handle, size int64, want, putETag, nonce string, st minio.ObjectInfo) error {
	md5ETags := !encrypted(st)
	if md5ETags && isMD5(putETag) && putETag != want {
		return fmt.Errorf("%w: the server stored other bytes (ETag %s, want %s)", ErrUnconfirmed, putETag, want)
	}
	same := st.Size == size && (!md5ETags || !isMD5(st.ETag) || st.ETag == want)
	ours := st.Metadata.Get("X-Amz-Meta-"+nonceMeta) == nonce
	switch {
	case same:
		return nil
	case ours:
		return fmt.Errorf("%w: %d bytes stored (ETag %s), want %d (ETag %s)", ErrUnconfirmed, st.Size, st.ETag, size, want)
	case h.Type != remote.Data:
		return nil
	}
	return fmt.Errorf("%w: another object of %d bytes (ETag %s) is in its place, want %d (ETag %s)",
		ErrUnconfirmed, st.Size, st.ETag, size, want)
}

// encrypted reports server-side encryption whose ETags are not MD5s.
func encrypted(st minio.ObjectInfo) bool {
	alg := st.Metadata.Get("X-Amz-Server-Side-Encryption")
	return alg == "aws:kms" || alg == "aws:kms:dsse" ||
		st.Metadata.Get("X-Amz-Server-Side-Encryption-Customer-Algorithm") != ""
}

// isMD5 reports whether an ETag has the form of an MD5: 32 hex digits.
func isMD5(etag string) bool {
	if len(etag) != 32 {
		return false
	}
	_, err := hex.DecodeString(etag)
	return err == nil
}

func newNonce() string {
	b := make([]byte, 12)
	_, _ = rand.Read(b) // never fails
	return hex.EncodeToString(b)
}
