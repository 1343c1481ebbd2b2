package fsys

import (
	"errors"
	"io"
	"math"
	"os"
	"sync/atomic"

	"golang.org/x/sys/unix"
)

// ExtentReader reads a file by its data extents (lseek SEEK_DATA and SEEK_HOLE): a
// hole reads as zeros without a read from the disk, so the bytes served are exactly
// the file's, and reading a sparse file costs what its data takes. Where the file
// system cannot tell holes (SEEK_DATA unsupported), it reads every byte.
type ExtentReader struct {
	f       *os.File
	size    int64 // the size when opened: a hole after the last data extent ends here
	pos     int64
	holeEnd int64 // [pos, holeEnd) is a known hole
	dataEnd int64 // [holeEnd, dataEnd) is known data
	plain   bool  // no extent information: read everything
	read    *atomic.Int64
}

// NewExtentReader reads f, of size bytes when opened, from its start. Each read from
// the disk adds its bytes to read, when read is not nil; holes add nothing.
func NewExtentReader(f *os.File, size int64, read *atomic.Int64) *ExtentReader {
	return &ExtentReader{f: f, size: size, read: read}
}

// Read serves zeros inside a hole and reads the file inside a data extent.
func (r *ExtentReader) Read(p []byte) (int, error) {
	if len(p) == 0 {
		return 0, nil
	}
	if r.pos >= r.dataEnd {
		if err := r.locate(); err != nil {
			return 0, err
		}
	}
	if r.pos < r.holeEnd {
		n := int(min(int64(len(p)), r.holeEnd-r.pos))
		clear(p[:n])
		r.pos += int64(n)
		return n, nil
	}
	if r.pos >= r.dataEnd {
		r.dataEnd = math.MaxInt64 // extents that make no sense: read plainly from here
	}
	n, err := r.f.ReadAt(p[:min(int64(len(p)), r.dataEnd-r.pos)], r.pos)
	r.pos += int64(n)
	if r.read != nil {
		r.read.Add(int64(n))
	}
	if n > 0 && errors.Is(err, io.EOF) {
		err = nil // the file shrank: the next read reports the end
	}
	return n, err
}

// locate finds the extents at pos: the hole that starts there, if any, and the data
// after it.
func (r *ExtentReader) locate() error {
	if r.plain {
		r.holeEnd, r.dataEnd = r.pos, math.MaxInt64
		return nil
	}
	data, err := r.seek(r.pos, unix.SEEK_DATA)
	switch {
	case errors.Is(err, unix.ENXIO):
		// No data at or after pos: the rest, up to the size, is a hole. Past the size
		// the file is read plainly, to see its end or what it grew by.
		if r.pos < r.size {
			r.holeEnd, r.dataEnd = r.size, r.size
		} else {
			r.holeEnd, r.dataEnd = r.pos, math.MaxInt64
		}
		return nil
	case errors.Is(err, unix.EINVAL), errors.Is(err, unix.EOPNOTSUPP), errors.Is(err, unix.ENOTSUP):
		r.plain = true // the file system has no extent information
		r.holeEnd, r.dataEnd = r.pos, math.MaxInt64
		return nil
	case err != nil:
		return err
	}
	hole, err := r.seek(data, unix.SEEK_HOLE)
	if err != nil {
		// The file shrank between the two seeks: read plainly from data on, and
		// let the end of the file show.
		hole = math.MaxInt64
	}
	r.holeEnd, r.dataEnd = data, hole
	return nil
}

func (r *ExtentReader) seek(off int64, whence int) (int64, error) {
	return r.f.Seek(off, whence)
}
