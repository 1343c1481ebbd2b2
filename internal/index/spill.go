package index

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"sync"

	"github.com/cairn-backup/cairn/internal/digest"
)

// spill is the file that holds the full records of a compact index's blobs, appended
// to and never rewritten: a compact record keeps the position of its full record,
// whose byte offset is position × spillRecord. Reads use pread (ReadAt), so the
// records sit in the page cache, not in the process's memory: mapping the file
// instead would count every page a lookup touches in its resident set.
type spill struct {
	f    spillFile
	name string // to remove on close: the system refused to remove the open file
	n    int    // records written
	mu   sync.Mutex
	err  error // the first read or write that failed
}

// spillFile is what spill needs of an *os.File; tests make writes fail through it.
type spillFile interface {
	io.ReaderAt
	io.WriterAt
	io.Closer
}

// spillRecord is the size of a full record: id ‖ type ‖ pack ‖ offset ‖ length, the
// last three big-endian uint32.
const spillRecord = digest.Size + 1 + 3*4

// openSpill creates an empty spill file in dir, or in os.TempDir() if dir is "".
func openSpill(dir string) (*spill, error) {
	if dir == "" {
		dir = os.TempDir()
	}
	f, err := os.CreateTemp(dir, "cairn-index-*.tmp")
	if err != nil {
		return nil, fmt.Errorf("create index spill file: %w", err)
	}
	s := &spill{f: f}
	// Removed at once where the system allows it: the file then lives as long as it is
	// open, and no crash leaves it behind. The os.File closes it if the index is
	// dropped without Close.
	if os.Remove(f.Name()) != nil {
		s.name = f.Name()
	}
	return s, nil
}

// append writes the records of es after the last, a few thousand at a time, and
// returns the position of the first. On an error the file's record count is
// unchanged: the next append overwrites what was written.
func (s *spill) append(es []entry) (uint32, error) {
	first := s.n
	if uint64(first)+uint64(len(es)) > math.MaxUint32 {
		return 0, fmt.Errorf("write index spill file: %w", ErrFull)
	}
	buf := make([]byte, 0, min(len(es), 1<<12)*spillRecord)
	off := int64(first) * spillRecord
	for i := range es {
		e := &es[i]
		buf = append(append(buf, e.id[:]...), byte(e.typ))
		buf = binary.BigEndian.AppendUint32(buf, e.loc.pack)
		buf = binary.BigEndian.AppendUint32(buf, e.loc.off)
		buf = binary.BigEndian.AppendUint32(buf, e.loc.length)
		if len(buf) == cap(buf) || i == len(es)-1 {
			if _, err := s.f.WriteAt(buf, off); err != nil {
				s.fail(err)
				return 0, fmt.Errorf("write index spill file: %w", err)
			}
			off += int64(len(buf))
			buf = buf[:0]
		}
	}
	s.n += len(es)
	return uint32(first), nil
}

func decodeRecord(b []byte) entry {
	e := entry{typ: BlobType(b[digest.Size])}
	copy(e.id[:], b)
	b = b[digest.Size+1:]
	e.loc = loc{binary.BigEndian.Uint32(b), binary.BigEndian.Uint32(b[4:]), binary.BigEndian.Uint32(b[8:])}
	return e
}

// read returns the record at pos. A read that fails finds nothing: the blob is then
// stored again rather than trusted, and Close reports the error.
func (s *spill) read(pos uint32) (entry, bool) {
	var b [spillRecord]byte
	if _, err := s.f.ReadAt(b[:], int64(pos)*spillRecord); err != nil {
		s.fail(err)
		return entry{}, false
	}
	return decodeRecord(b[:]), true
}

// each calls fn for the first n records in file order until fn returns false; it
// fails if the file cannot be read back.
func (s *spill) each(n int, fn func(e *entry) bool) error {
	buf := make([]byte, 1<<12*spillRecord)
	for off := 0; off < n; {
		m := min(n-off, 1<<12)
		if _, err := s.f.ReadAt(buf[:m*spillRecord], int64(off)*spillRecord); err != nil {
			// The index wrote these records: a disk that cannot read them back is no
			// state that a caller counting blobs (verify, stats) may take for an answer.
			return fmt.Errorf("index: read its spill file: %w", err)
		}
		for i := range m {
			e := decodeRecord(buf[i*spillRecord:])
			if !fn(&e) {
				return nil
			}
		}
		off += m
	}
	return nil
}

func (s *spill) fail(err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.err == nil {
		s.err = err
	}
}

// close closes and removes the file, and returns the first error the file gave.
func (s *spill) close() error {
	s.mu.Lock()
	err := s.err
	s.mu.Unlock()
	if err != nil {
		err = fmt.Errorf("index spill file: %w", err)
	}
	err = errors.Join(err, s.f.Close())
	if s.name != "" {
		err = errors.Join(err, os.Remove(s.name))
	}
	return err
}
