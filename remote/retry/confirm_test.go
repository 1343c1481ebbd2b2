package retry_test

import (
	"testing"
	"time"

	"github.com/cairn-backup/cairn/remote/remotetest"
	"github.com/cairn-backup/cairn/remote/retry"
)

// TestConfirmerSuite: the decorator passes its inner store's Confirmer through.
func TestConfirmerSuite(t *testing.T) {
	remotetest.RunConfirmer(t, func(*testing.T) remotetest.ConfirmStore {
		return retry.New(remotetest.NewConfirmingMem(), retry.Options{Budget: time.Minute, Clock: &fakeClock{}})
	})
}
