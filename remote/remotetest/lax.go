package remotetest

import (
	"context"
	"errors"
	"io"
	"sync"

	"github.com/cairn-backup/cairn/remote"
)

// Lax is a remote.Confirmer over another store, for tests of callers that confirm
// uploads in batches. Its PutUnconfirmed can be scripted to acknowledge an upload it
// dropped or cut short, as a lying S3 server does; Confirm checks sizes with Stat.
type Lax struct {
	remote.Storage

	mu       sync.Mutex
	lies     map[remote.Type][]bool // per type, the next lies: true stores a prefix
	told     int
	confirms int
}

var _ remote.Confirmer = (*Lax)(nil)

// NewLax wraps inner.
func NewLax(inner remote.Storage) *Lax {
	return &Lax{Storage: inner, lies: map[remote.Type][]bool{}}
}

// Lie makes the next PutUnconfirmed of type t store nothing (short: half the body)
// and still succeed.
func (l *Lax) Lie(t remote.Type, short bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.lies[t] = append(l.lies[t], short)
}

// Told returns how many lies were told; Confirms how many Confirm calls were made.
func (l *Lax) Told() int     { l.mu.Lock(); defer l.mu.Unlock(); return l.told }
func (l *Lax) Confirms() int { l.mu.Lock(); defer l.mu.Unlock(); return l.confirms }

// PutUnconfirmed stores the body, unless a lie is due.
func (l *Lax) PutUnconfirmed(ctx context.Context, h remote.Handle, body remote.Body) (remote.Sent, error) {
	sent := remote.Sent{Handle: h, Size: body.Size()}
	l.mu.Lock()
	due := len(l.lies[h.Type]) > 0
	var short bool
	if due {
		short, l.lies[h.Type] = l.lies[h.Type][0], l.lies[h.Type][1:]
		l.told++
	}
	l.mu.Unlock()
	switch {
	case !due:
		return sent, l.Storage.Put(ctx, h, body)
	case short:
		return sent, l.Storage.Put(ctx, h, io.NewSectionReader(body, 0, body.Size()/2))
	}
	return sent, nil
}

// Confirm reports the objects that are missing or of another size.
func (l *Lax) Confirm(ctx context.Context, objs []remote.Sent) ([]remote.Sent, error) {
	l.mu.Lock()
	l.confirms++
	l.mu.Unlock()
	var bad []remote.Sent
	for _, o := range objs {
		info, err := l.Storage.Stat(ctx, o.Handle)
		if errors.Is(err, remote.ErrNotFound) || err == nil && info.Size != o.Size {
			bad = append(bad, o)
			continue
		}
		if err != nil {
			return nil, err
		}
	}
	return bad, nil
}
