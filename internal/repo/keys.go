package repo

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/cairn-backup/cairn/internal/crypto"
	"github.com/cairn-backup/cairn/internal/digest"
	"github.com/cairn-backup/cairn/remote"
)

// KeyInfo describes one key file.
type KeyInfo struct {
	Name    string
	Created time.Time
	Host    string
	User    string
	Current bool // the key that opened this session
	Err     error
}

// addKey wraps the master key under password and stores it; the name is the SHA-256
// of the key file, like every other immutable object.
func (r *Repo) addKey(ctx context.Context, password []byte) (string, error) {
	if len(password) == 0 {
		return "", errors.New("empty password")
	}
	kf, err := crypto.WrapKey(r.key, password, r.cfg.ID, r.opts.kdf(), r.opts.now(), r.opts.Host, r.opts.User)
	if err != nil {
		return "", err
	}
	data, err := kf.Encode()
	if err != nil {
		return "", err
	}
	name := digest.Of(data).String()
	if err := r.store.Put(ctx, remote.Handle{Type: remote.Key, Name: name}, remote.Bytes(data)); err != nil {
		return "", fmt.Errorf("write key: %w", err)
	}
	return name, nil
}

// AddKey adds a key file for another password and returns its name.
func (r *Repo) AddKey(ctx context.Context, password []byte) (string, error) {
	return r.addKey(ctx, password)
}

func (r *Repo) keyNames(ctx context.Context) ([]string, error) {
	var names []string
	err := r.store.List(ctx, remote.Key, func(i remote.Info) error {
		names = append(names, i.Name)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("list keys: %w", err)
	}
	sort.Strings(names)
	return names, nil
}

func (r *Repo) loadKeyFile(ctx context.Context, name string) (*crypto.KeyFile, error) {
	h := remote.Handle{Type: remote.Key, Name: name}
	data, err := remote.ReadAll(ctx, r.store, h, 0, 0, crypto.MaxKeyFileSize)
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", h, err)
	}
	if digest.Of(data).String() != name {
		return nil, fmt.Errorf("%s: %w: content does not match its name", h, ErrCorrupt)
	}
	kf, err := crypto.DecodeKeyFile(data)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", h, err)
	}
	return kf, nil
}

// Keys lists the repository's key files; damaged ones are listed with their error.
func (r *Repo) Keys(ctx context.Context) ([]KeyInfo, error) {
	names, err := r.keyNames(ctx)
	if err != nil {
		return nil, err
	}
	out := make([]KeyInfo, 0, len(names))
	for _, name := range names {
		ki := KeyInfo{Name: name, Current: name == r.keyName}
		kf, err := r.loadKeyFile(ctx, name)
		if err == nil && kf.Repo != r.cfg.ID {
			err = fmt.Errorf("%w: key file of repository %s", ErrCorrupt, kf.Repo.Short())
		}
		if err != nil {
			ki.Err = err
		} else {
			ki.Created, ki.Host, ki.User = kf.Created, kf.Host, kf.User
		}
		out = append(out, ki)
	}
	return out, nil
}

// ResolveKey finds the one key file whose name starts with prefix.
func (r *Repo) ResolveKey(ctx context.Context, prefix string) (string, error) {
	names, err := r.keyNames(ctx)
	if err != nil {
		return "", err
	}
	var found []string
	for _, n := range names {
		if strings.HasPrefix(n, prefix) {
			found = append(found, n)
		}
	}
	switch {
	case prefix == "" || len(found) == 0:
		return "", fmt.Errorf("no key %q", prefix)
	case len(found) > 1:
		return "", fmt.Errorf("key prefix %q is ambiguous (%d keys)", prefix, len(found))
	}
	return found[0], nil
}

// RemoveKey deletes a key file. The key in use cannot be removed: that would lock this
// client out halfway through. A key file still locked stays until its lock ends
// (KeptByLocks): until then its password still opens the repository.
func (r *Repo) RemoveKey(ctx context.Context, name string) error {
	if name == r.keyName {
		return errors.New("refusing to remove the key in use (use 'cairn key passwd' to replace it)")
	}
	return r.deleteUnlessLocked(ctx, remote.Handle{Type: remote.Key, Name: name})
}

// ChangePassword adds a key for the new password, then removes the current one.
func (r *Repo) ChangePassword(ctx context.Context, password []byte) (string, error) {
	name, err := r.addKey(ctx, password)
	if err != nil {
		return "", err
	}
	old := r.keyName
	r.keyName = name
	if err := r.deleteUnlessLocked(ctx, remote.Handle{Type: remote.Key, Name: old}); err != nil {
		return name, fmt.Errorf("new key %s added, but removing the old one failed: %w", shortName(name), err)
	}
	return name, pinStore{r.opts.StateDir}.save(&pin{
		Location: r.store.Location(), ID: r.cfg.ID, Fingerprint: r.key.Fingerprint(), Version: r.cfg.Version, KeyName: name,
	})
}
