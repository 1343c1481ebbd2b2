// Package remotetest holds what tests of storage need: an in-memory store, one
// conformance suite that every backend runs, and a wrapper that injects scripted faults.
package remotetest

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"sort"
	"sync"
	"time"

	"github.com/cairn-backup/cairn/remote"
)

// Mem is an in-memory remote.Storage that follows the contract exactly. It copies bytes
// in and out, so no caller can change a stored object behind the store's back.
type Mem struct {
	// Now is the store's clock, read when an object is written (ModTime); tests of
	// grace periods set it before use. nil means time.Now.
	Now func() time.Time

	mu    sync.Mutex
	objs  map[remote.Handle][]byte
	times map[remote.Handle]time.Time
}

var _ remote.Storage = (*Mem)(nil)

// NewMem returns an empty store.
func NewMem() *Mem {
	return &Mem{objs: make(map[remote.Handle][]byte), times: make(map[remote.Handle]time.Time)}
}

// Location names the store.
func (m *Mem) Location() string { return "mem" }

// Close does nothing; the store stays usable, as its contents are only memory.
func (m *Mem) Close() error { return nil }

// Put stores a copy of the body.
func (m *Mem) Put(ctx context.Context, h remote.Handle, body remote.Body) error {
	if err := check(ctx, h); err != nil {
		return fmt.Errorf("put %s: %w", h, err)
	}
	buf := make([]byte, body.Size())
	if _, err := body.ReadAt(buf, 0); err != nil && !(err == io.EOF && len(buf) == 0) {
		return fmt.Errorf("put %s: read body: %w", h, err)
	}
	now := time.Now
	if m.Now != nil {
		now = m.Now
	}
	t := now()
	m.mu.Lock()
	defer m.mu.Unlock()
	m.objs[h], m.times[h] = buf, t
	return nil
}

// Get returns a copy of the range.
func (m *Mem) Get(ctx context.Context, h remote.Handle, offset, length int64) (io.ReadCloser, error) {
	if err := check(ctx, h); err != nil {
		return nil, fmt.Errorf("get %s: %w", h, err)
	}
	if offset < 0 || length < 0 {
		return nil, fmt.Errorf("get %s at %d+%d: %w", h, offset, length, remote.ErrInvalidRange)
	}
	m.mu.Lock()
	data, ok := m.objs[h]
	m.mu.Unlock()
	if !ok {
		return nil, fmt.Errorf("get %s: %w", h, remote.ErrNotFound)
	}
	size := int64(len(data))
	if offset > size || length > size-offset {
		return nil, fmt.Errorf("get %s at %d+%d of %d bytes: %w", h, offset, length, size, remote.ErrInvalidRange)
	}
	if length == 0 {
		length = size - offset
	}
	// Stored slices are never written after Put, so reading outside the lock is safe.
	out := bytes.Clone(data[offset : offset+length])
	return io.NopCloser(bytes.NewReader(out)), nil
}

// Stat returns the object's size.
func (m *Mem) Stat(ctx context.Context, h remote.Handle) (remote.Info, error) {
	if err := check(ctx, h); err != nil {
		return remote.Info{}, fmt.Errorf("stat %s: %w", h, err)
	}
	m.mu.Lock()
	data, ok := m.objs[h]
	mod := m.times[h]
	m.mu.Unlock()
	if !ok {
		return remote.Info{}, fmt.Errorf("stat %s: %w", h, remote.ErrNotFound)
	}
	return remote.Info{Name: h.Name, Size: int64(len(data)), ModTime: mod}, nil
}

// List reports the objects of type t sorted by name. It calls fn outside the lock, so
// fn may use the store.
func (m *Mem) List(ctx context.Context, t remote.Type, fn func(remote.Info) error) error {
	if err := remote.ValidateType(t); err != nil {
		return fmt.Errorf("list %s: %w", t, err)
	}
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("list %s: %w", t, err)
	}
	var infos []remote.Info
	m.mu.Lock()
	for h, data := range m.objs {
		if h.Type == t {
			infos = append(infos, remote.Info{Name: h.Name, Size: int64(len(data)), ModTime: m.times[h]})
		}
	}
	m.mu.Unlock()
	sort.Slice(infos, func(i, j int) bool { return infos[i].Name < infos[j].Name })
	for _, info := range infos {
		if err := fn(info); err != nil {
			return err
		}
	}
	return nil
}

// Delete removes the object; a missing one is not an error.
func (m *Mem) Delete(ctx context.Context, h remote.Handle) error {
	if err := check(ctx, h); err != nil {
		return fmt.Errorf("delete %s: %w", h, err)
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	delete(m.objs, h)
	delete(m.times, h)
	return nil
}

// check validates h and ctx, the preamble of every method.
func check(ctx context.Context, h remote.Handle) error {
	if err := h.Validate(); err != nil {
		return err
	}
	return ctx.Err()
}
