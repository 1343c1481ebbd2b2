package retry_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/cairn-backup/cairn/remote"
	"github.com/cairn-backup/cairn/remote/remotetest"
	"github.com/cairn-backup/cairn/remote/retry"
)

// taker is a store that can take files by rename, as a local directory is.
type taker struct{ *remotetest.Mem }

func (taker) CreateTemp(remote.Type) (remote.TempFile, error) { return nil, errors.New("not here") }
func (taker) TakeFile(context.Context, remote.Handle, remote.TempFile, int64) error {
	return errors.New("not here")
}

// The decorator hides the inner store's FileTaker, which it would not retry: packs
// come through Put, whose retries it owns.
func TestHidesFileTaker(t *testing.T) {
	var s remote.Storage = retry.New(taker{remotetest.NewMem()}, retry.Options{Budget: time.Minute})
	if _, ok := s.(remote.FileTaker); ok {
		t.Error("the retry decorator passes on a FileTaker it does not retry")
	}
}
