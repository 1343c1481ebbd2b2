package backup

import (
	"context"
	"errors"
	"sync"

	"github.com/cairn-backup/cairn/internal/fsys"

	"github.com/cairn-backup/cairn/manifest"
)

// errSkipped marks an entry left out of the snapshot (unreadable; already reported).
var errSkipped = errors.New("skipped")

// entrySlot is a one-shot future: the directory that owns an entry waits on it while
// a reader fills it in.
type entrySlot struct {
	done  chan struct{}
	entry manifest.Entry
	err   error
	from  *entrySlot // a hard link: the content comes from the first name read
}

func newSlot() *entrySlot { return &entrySlot{done: make(chan struct{})} }

func doneSlot(e manifest.Entry) *entrySlot {
	s := newSlot()
	s.set(e, nil)
	return s
}

func skippedSlot() *entrySlot {
	s := newSlot()
	s.set(manifest.Entry{}, errSkipped)
	return s
}

func (s *entrySlot) set(e manifest.Entry, err error) {
	s.entry, s.err = e, err
	close(s.done)
}

func (s *entrySlot) wait(ctx context.Context) (manifest.Entry, error) {
	select {
	case <-s.done:
	case <-ctx.Done():
		return manifest.Entry{}, ctx.Err()
	}
	if s.from == nil {
		return s.entry, s.err
	}
	le, err := s.from.wait(ctx)
	if err != nil {
		return s.entry, errSkipped // the first name's error is already reported
	}
	e := s.entry
	e.Size, e.Content, e.Chunks, e.Lists = le.Size, le.Content, le.Chunks, le.Lists
	return e, nil
}

// followSlot is a slot for another name of a hard-linked file.
func followSlot(leader *entrySlot, e manifest.Entry) *entrySlot {
	s := doneSlot(e)
	s.from = leader
	return s
}

// linkTable finds the first name of each multiply-linked file, so that its other
// names reuse its content instead of reading it again.
type linkTable struct {
	mu    sync.Mutex
	first map[[2]uint64]*entrySlot
}

func newLinkTable() *linkTable { return &linkTable{first: map[[2]uint64]*entrySlot{}} }

// join registers slot as the first name of the file, or returns the first one.
func (t *linkTable) join(info fsys.Info, slot *entrySlot) *entrySlot {
	if info.Nlink < 2 {
		return nil
	}
	key := [2]uint64{info.Dev, info.Inode}
	t.mu.Lock()
	defer t.mu.Unlock()
	if leader, ok := t.first[key]; ok {
		return leader
	}
	t.first[key] = slot
	return nil
}
