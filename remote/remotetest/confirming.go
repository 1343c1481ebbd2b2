package remotetest

import (
	"context"
	"crypto/md5"
	"encoding/hex"
	"fmt"
	"io"

	"github.com/cairn-backup/cairn/remote"
)

// ConfirmingMem is a Mem that is also a remote.Confirmer, as S3 is: PutUnconfirmed
// stores the body and returns its size and MD5, and Confirm compares both with what
// is stored. Mem itself is no Confirmer, so that callers tested on a Mem keep the
// path of stores that check every Put (the local backend's).
type ConfirmingMem struct {
	*Mem
}

var _ ConfirmStore = (*ConfirmingMem)(nil)

// NewConfirmingMem returns an empty store.
func NewConfirmingMem() *ConfirmingMem { return &ConfirmingMem{Mem: NewMem()} }

// PutUnconfirmed stores a copy of the body, as Put does.
func (m *ConfirmingMem) PutUnconfirmed(ctx context.Context, h remote.Handle, body remote.Body) (remote.Sent, error) {
	if err := m.Put(ctx, h, body); err != nil {
		return remote.Sent{}, err
	}
	sum := md5.New()
	if _, err := io.Copy(sum, remote.Reader(body)); err != nil {
		return remote.Sent{}, fmt.Errorf("put %s: read body: %w", h, err)
	}
	return remote.Sent{Handle: h, Size: body.Size(), MD5: hex.EncodeToString(sum.Sum(nil))}, nil
}

// Confirm returns the objects that are missing, or stored with another size or MD5.
func (m *ConfirmingMem) Confirm(ctx context.Context, objs []remote.Sent) ([]remote.Sent, error) {
	for _, o := range objs {
		if err := check(ctx, o.Handle); err != nil {
			return nil, fmt.Errorf("confirm %s: %w", o.Handle, err)
		}
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	var bad []remote.Sent
	for _, o := range objs {
		data, ok := m.objs[o.Handle]
		sum := md5.Sum(data)
		if !ok || int64(len(data)) != o.Size || o.MD5 != "" && o.MD5 != hex.EncodeToString(sum[:]) {
			bad = append(bad, o)
		}
	}
	return bad, nil
}
