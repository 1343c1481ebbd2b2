package local

import (
	"errors"
	"fmt"
	"io/fs"
	"syscall"
	"testing"

	"github.com/cairn-backup/cairn/remote"
)

// A full disk or a quota reached is remote.ErrFull, and still says what the system
// said: "put data/ab/ab…: write …: no space left on device".
func TestNoSpaceIsFull(t *testing.T) {
	for _, errno := range []syscall.Errno{syscall.ENOSPC, syscall.EDQUOT} {
		cause := &fs.PathError{Op: "write", Path: "/repo/data/ab/.tmp-1", Err: errno}
		err := fmt.Errorf("put data/ab: %w", mapWriteErr(cause))
		if !errors.Is(err, remote.ErrFull) || !errors.Is(err, errno) {
			t.Errorf("%v: not both remote.ErrFull and %v", err, errno)
		}
		if want := "put data/ab: " + cause.Error(); err.Error() != want {
			t.Errorf("message %q, want %q", err, want)
		}
	}
	if err := mapWriteErr(fs.ErrNotExist); errors.Is(err, remote.ErrFull) || errors.Is(err, remote.ErrNotFound) {
		t.Errorf("a missing folder became %v", err)
	}
}
