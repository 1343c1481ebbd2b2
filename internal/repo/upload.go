package repo

import (
	"context"
	"fmt"

	"github.com/cairn-backup/cairn/remote"
)

// An Upload is one small object sent whose storage is not yet checked: on a store that
// is a remote.Confirmer (S3) the check is a request of its own, which a caller can
// send beside other requests instead of after the upload. Nothing may depend on the
// object before Confirm has returned nil.
type Upload struct {
	r      *Repo
	conf   remote.Confirmer // nil: the Put checked the object already
	sent   remote.Sent
	sealed []byte
	cache  bool // cache the object once confirmed
}

// upload sends sealed under h, leaving its check to Confirm.
func (r *Repo) upload(ctx context.Context, h remote.Handle, sealed []byte) (*Upload, error) {
	u := &Upload{r: r, sealed: sealed, sent: remote.Sent{Handle: h, Size: int64(len(sealed))}}
	conf, ok := r.store.(remote.Confirmer)
	if !ok {
		return u, r.store.Put(ctx, h, remote.Bytes(sealed))
	}
	sent, err := conf.PutUnconfirmed(ctx, h, remote.Bytes(sealed))
	if err != nil {
		return nil, err
	}
	u.conf, u.sent = conf, sent
	return u, nil
}

// Confirm checks that the storage holds the object whole, sending it again (at most
// maxResends times) when it does not. resent reports that it had to: the object was
// then stored only during Confirm, not when upload returned.
func (u *Upload) Confirm(ctx context.Context) (resent bool, err error) {
	if u.conf == nil {
		if u.cache {
			u.r.cacheObject(u.sent.Type, u.sent.Handle, u.sealed)
		}
		return false, nil
	}
	for round := 0; ; round++ {
		bad, err := u.conf.Confirm(ctx, []remote.Sent{u.sent})
		if err != nil {
			return resent, fmt.Errorf("confirm %s: %w", u.sent.Handle, err)
		}
		if len(bad) == 0 {
			if u.cache {
				u.r.cacheObject(u.sent.Type, u.sent.Handle, u.sealed)
			}
			return resent, nil
		}
		if round == maxResends {
			return resent, fmt.Errorf("the storage acknowledged but does not hold %s, after %d uploads", u.sent.Handle, maxResends+1)
		}
		resent = true
		if u.sent, err = u.conf.PutUnconfirmed(ctx, u.sent.Handle, remote.Bytes(u.sealed)); err != nil {
			return resent, fmt.Errorf("write %s again: %w", u.sent.Handle, err)
		}
	}
}
