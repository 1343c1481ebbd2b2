package archive

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
// a reader fills it in. A directory keeps its slots in one slice, and most entries
// (unchanged files, symlinks, subdirectories walked inline) are filled in at once:
// they need neither a channel nor an allocation of their own.
type entrySlot struct {
	done  chan struct{} // nil: filled in already
	entry manifest.Entry
	err   error
	from  *entrySlot // a hard link: the content comes from the first name read
	whole bool       // from is this name's own read: take its entry whole
}

func newSlot() *entrySlot { return (&entrySlot{}).start() }

// start makes s a slot that set fills in later.
func (s *entrySlot) start() *entrySlot {
	s.done = make(chan struct{})
	return s
}

func (s *entrySlot) fill(e manifest.Entry) { s.entry = e }

func (s *entrySlot) skip() { s.err = errSkipped }

// set fills in a started slot.
func (s *entrySlot) set(e manifest.Entry, err error) {
	s.entry, s.err = e, err
	close(s.done)
}

func (s *entrySlot) wait(ctx context.Context) (manifest.Entry, error) {
	if s.done != nil {
		select {
		case <-s.done:
		case <-ctx.Done():
			return manifest.Entry{}, ctx.Err()
		}
	}
	switch {
	case s.from == nil:
		return s.entry, s.err
	case s.whole:
		return s.from.wait(ctx)
	}
	le, err := s.from.wait(ctx)
	if err != nil {
		return s.entry, errSkipped // the first name's error is already reported
	}
	e := s.entry
	e.Size, e.Content, e.Chunks, e.Lists = le.Size, le.Content, le.Chunks, le.Lists
	return e, nil
}

// follow makes s another name of a hard-linked file whose first name is leader.
func (s *entrySlot) follow(leader *entrySlot, e manifest.Entry) {
	s.entry, s.from = e, leader
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
