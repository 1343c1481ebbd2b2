// Package remote defines the storage contract every backend implements: immutable
// objects addressed by type and name, moved as opaque bytes. Backends know nothing of
// encryption, packs or indexes; internal/repo gives the bytes their meaning.
package remote

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	"golang.org/x/sync/errgroup"
)

// Type is the kind of an object; it selects the folder (or key prefix) it lives in.
type Type string

// The object types of a repository. Config has exactly one object, with an empty name.
const (
	Config   Type = "config"
	Key      Type = "keys"
	Snapshot Type = "snapshots"
	Index    Type = "index"
	Data     Type = "data"
	Lock     Type = "locks"
	State    Type = "state" // sealed records of what verify and forget have done
	Mark     Type = "marks" // packs a prune found unneeded (docs/prune.md)
)

// Types lists every object type, in the order a listing of the whole store visits them.
var Types = []Type{Config, Key, Snapshot, Index, Data, Lock, State, Mark}

// Sentinel errors. Backends wrap them with %w; callers test with errors.Is.
var (
	// ErrNotFound: the object does not exist.
	ErrNotFound = errors.New("object not found")
	// ErrInvalidRange: a read that starts or ends outside the object.
	ErrInvalidRange = errors.New("invalid range")
	// ErrInvalidHandle: a type or name the store does not accept.
	ErrInvalidHandle = errors.New("invalid object handle")
	// ErrPermission: the store refused access (S3 403 AccessDenied, unknown credentials).
	ErrPermission = errors.New("permission denied")
	// ErrNoBucket: the bucket that should hold the repository does not exist.
	ErrNoBucket = errors.New("bucket does not exist")
	// ErrFull: the store has no room left (S3 507, a quota reached).
	ErrFull = errors.New("storage full")
	// ErrSlowDown: the store asks for fewer requests (S3 503 SlowDown, 429); transient.
	ErrSlowDown = errors.New("slow down")
	// ErrTLS: the TLS connection cannot succeed as configured (an untrusted server or a rejected client certificate).
	ErrTLS = errors.New("tls failure")
	// ErrUnreachable: the endpoint cannot be reached at all (connection refused, host
	// name unknown); retried only a few times, as a wrong location never heals.
	ErrUnreachable = errors.New("endpoint unreachable")
	// ErrExists: a backend's Create found a repository (a config object) already at the
	// location; nothing was changed.
	ErrExists = errors.New("repository already exists")
)

// Handle names one object.
type Handle struct {
	Type Type
	Name string
}

func (h Handle) String() string {
	if h.Type == Config {
		return string(Config)
	}
	return string(h.Type) + "/" + h.Name
}

// Validate checks that h names an object a backend may store. Names are short
// [0-9A-Za-z._-] words that do not start with '.', so that no name escapes its folder
// and backends can keep temporary files (which start with '.') out of listings.
func (h Handle) Validate() error {
	if !knownType(h.Type) {
		return fmt.Errorf("%w: unknown type %q", ErrInvalidHandle, h.Type)
	}
	if h.Type == Config {
		if h.Name != "" {
			return fmt.Errorf("%w: config takes no name", ErrInvalidHandle)
		}
		return nil
	}
	if !ValidName(h.Name) {
		return fmt.Errorf("%w: name %q", ErrInvalidHandle, h.Name)
	}
	if h.Type == Data && len(h.Name) < 2 {
		// Backends shard data by the first two characters of the name.
		return fmt.Errorf("%w: data name %q is shorter than 2 characters", ErrInvalidHandle, h.Name)
	}
	return nil
}

// ValidName reports whether name may name an object.
func ValidName(name string) bool {
	if name == "" || len(name) > 128 || name[0] == '.' {
		return false
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		ok := c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' ||
			c == '.' || c == '_' || c == '-'
		if !ok {
			return false
		}
	}
	return true
}

func knownType(t Type) bool {
	for _, k := range Types {
		if k == t {
			return true
		}
	}
	return false
}

// Body is an object's content: its length is known up front and it can be read from
// any offset any number of times, so that checksums and retries need no copy. A pack
// streamed to a temporary file is a Body (io.NewSectionReader), as is bytes.Reader.
type Body interface {
	io.ReaderAt
	Size() int64
}

// Bytes returns data as a Body.
func Bytes(data []byte) Body { return bytes.NewReader(data) }

// Reader returns a reader over the whole body, from its start.
func Reader(b Body) *io.SectionReader { return io.NewSectionReader(b, 0, b.Size()) }

// Info describes a stored object.
type Info struct {
	Name string
	Size int64
	// ModTime is when the storage wrote the object, by the storage's own clock (S3
	// LastModified, a file's mtime). Grace periods compare these, never the clocks
	// of the hosts that use the store (docs/prune.md).
	ModTime time.Time
}

// Storage is the contract of a backend. All methods are safe for concurrent use.
type Storage interface {
	// Location names the store for messages (never with credentials).
	Location() string

	// Put stores body under h. A Put that returns nil has stored exactly the body,
	// whole: a reader never sees a partial object. Putting an existing name replaces
	// it. The body may be read several times (checksums, retries).
	Put(ctx context.Context, h Handle, body Body) error

	// Get reads length bytes from offset; length 0 reads to the end. A range that
	// starts past the end, or ends past it, fails with ErrInvalidRange; a missing
	// object with ErrNotFound. The caller closes the reader.
	Get(ctx context.Context, h Handle, offset, length int64) (io.ReadCloser, error)

	// Stat returns the object's size, or ErrNotFound.
	Stat(ctx context.Context, h Handle) (Info, error)

	// List calls fn for every object of type t, in no particular order. An error from
	// fn stops the listing and is returned. A listing that fails part way returns an
	// error: callers must never read a failed listing as "no objects".
	List(ctx context.Context, t Type, fn func(Info) error) error

	// Delete removes the object. Deleting a missing object is not an error.
	Delete(ctx context.Context, h Handle) error

	// Close releases resources held by the store.
	Close() error
}

// Sent is an object a Confirmer was asked to store, as Confirm checks it.
type Sent struct {
	Handle
	Size int64
	// MD5 is the hex MD5 of the body when the server's answer showed that it names
	// objects by it (S3 ETags without server-side KMS), so a listing can check it too;
	// "" checks the size alone.
	MD5 string
}

// Confirmer is a store whose uploads may be checked in bulk. Put checks every object
// on its own (on S3 a HEAD after each PUT); PutUnconfirmed skips that check, and one
// Confirm then vouches for many objects with a few requests (on S3 a listing).
// Nothing may depend on an object (an index naming a pack, a snapshot naming an index
// segment) before Confirm has vouched for it.
type Confirmer interface {
	// PutUnconfirmed stores body under h like Put, but does not check what the
	// server stored. The Sent it returns is what to confirm.
	PutUnconfirmed(ctx context.Context, h Handle, body Body) (Sent, error)
	// Confirm returns the objects that are not stored whole: missing, or of another
	// size or MD5. An error means the check itself failed.
	Confirm(ctx context.Context, objs []Sent) (bad []Sent, err error)
}

// BatchDeleter is a store that deletes many objects of one type in a few requests (on
// S3 DeleteObjects, up to 1,000 keys a request). Missing objects are no error.
type BatchDeleter interface {
	DeleteMany(ctx context.Context, t Type, names []string) error
}

// DeleteMany deletes the objects names of type t: through DeleteMany when s is a
// BatchDeleter, else one Delete each, eight at a time.
func DeleteMany(ctx context.Context, s Storage, t Type, names []string) error {
	if b, ok := s.(BatchDeleter); ok {
		return b.DeleteMany(ctx, t, names)
	}
	return DeleteEach(ctx, s, t, names)
}

// DeleteEach deletes the objects one Delete each, eight at a time.
func DeleteEach(ctx context.Context, s Storage, t Type, names []string) error {
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(8)
	for _, name := range names {
		g.Go(func() error { return s.Delete(gctx, Handle{Type: t, Name: name}) })
	}
	return g.Wait()
}

// ReadAll reads an object range into memory; length 0 reads to the end. It refuses
// ranges longer than limit (a read to the end stops at limit+1 bytes), and fails with
// io.ErrUnexpectedEOF when the store returns fewer bytes than the range holds. A read
// to the end costs one request: the size comes with the body, not from a Stat.
func ReadAll(ctx context.Context, s Storage, h Handle, offset, length, limit int64) ([]byte, error) {
	if length < 0 || length > limit {
		return nil, fmt.Errorf("read %s: %d bytes exceeds the limit of %d", h, length, limit)
	}
	rd, err := s.Get(ctx, h, offset, length)
	if err != nil {
		return nil, err
	}
	defer rd.Close()
	if length == 0 {
		buf, err := io.ReadAll(io.LimitReader(rd, limit+1))
		if err != nil {
			return nil, fmt.Errorf("read %s: %w", h, err)
		}
		if int64(len(buf)) > limit {
			return nil, fmt.Errorf("read %s: more than the limit of %d bytes", h, limit)
		}
		return buf, nil
	}
	buf := make([]byte, length)
	if _, err := io.ReadFull(rd, buf); err != nil {
		if errors.Is(err, io.EOF) {
			// ReadFull says EOF, not ErrUnexpectedEOF, when not one byte came.
			err = io.ErrUnexpectedEOF
		}
		return nil, fmt.Errorf("read %s: %w", h, err)
	}
	return buf, nil
}

// ValidateType checks that t is a known object type, as List implementations must.
func ValidateType(t Type) error {
	if !knownType(t) {
		return fmt.Errorf("%w: unknown type %q", ErrInvalidHandle, t)
	}
	return nil
}
