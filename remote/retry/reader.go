package retry

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/cairn-backup/cairn/remote"
)

// resumer reads a range and, when the body breaks part way, gets the rest of the
// range anew and goes on: the object is immutable, so the bytes line up. Each run of
// failures without progress gets the retry budget; bytes read start a new one.
type resumer struct {
	s              *Store
	ctx            context.Context
	h              remote.Handle
	offset, length int64 // the range asked for; length 0 is "to the end"
	rc             io.ReadCloser
	done           int64     // bytes delivered
	fails          int       // failures since the last progress
	since          time.Time // first of those failures
	err            error     // sticky: the reader gave up
}

func (r *resumer) Read(p []byte) (int, error) {
	if r.err != nil {
		return 0, r.err
	}
	for {
		n, err := r.rc.Read(p)
		r.done += int64(n)
		if n > 0 {
			r.fails = 0
		}
		if err == nil || r.complete(err) {
			if err != nil {
				err = io.EOF
			}
			return n, err
		}
		if errors.Is(err, io.EOF) {
			err = io.ErrUnexpectedEOF // a known length ended early
		}
		if rerr := r.resume(err); rerr != nil {
			r.err = rerr
			if n > 0 {
				return n, nil // the error comes with the next Read
			}
			return 0, rerr
		}
		if n > 0 {
			return n, nil
		}
	}
}

// complete reports whether a read that ended in err has delivered the whole range.
func (r *resumer) complete(err error) bool {
	if r.length > 0 {
		return r.done == r.length
	}
	return err == io.EOF // to the end: only the body knows where that is
}

// resume replaces the broken body with a Get of the remaining range, or returns the
// error to give up with.
func (r *resumer) resume(cause error) error {
	cause = fmt.Errorf("read %s after %d bytes: %w", r.h, r.done, cause)
	if r.ctx.Err() != nil || Permanent(cause) {
		return cause
	}
	r.rc.Close()
	r.rc = io.NopCloser(eofReader{})
	if r.fails == 0 {
		r.since = r.s.clock.Now()
	}
	r.fails++
	if err := r.s.pause(r.ctx, opName("read", r.h), r.since, r.fails, cause); err != nil {
		return err
	}
	length := int64(0)
	if r.length > 0 {
		length = r.length - r.done
	}
	return r.s.run(r.ctx, opName("get", r.h), r.since, r.fails, func(ctx context.Context) error {
		rc, err := r.s.Storage.Get(ctx, r.h, r.offset+r.done, length)
		if err == nil {
			r.rc = rc
		}
		return err
	})
}

// Close closes the current body.
func (r *resumer) Close() error { return r.rc.Close() }

// eofReader stands in for a closed body until a new one is open.
type eofReader struct{}

func (eofReader) Read([]byte) (int, error) { return 0, io.ErrUnexpectedEOF }
