package remotetest_test

import (
	"testing"

	"github.com/cairn-backup/cairn/remote"
	"github.com/cairn-backup/cairn/remote/remotetest"
)

func TestConfirmingMem(t *testing.T) {
	remotetest.Run(t, func(*testing.T) remote.Storage { return remotetest.NewConfirmingMem() })
	remotetest.RunConfirmer(t, func(*testing.T) remotetest.ConfirmStore { return remotetest.NewConfirmingMem() })
}

// TestLaxConfirms: without scripted lies, Lax is an honest Confirmer (by size alone).
func TestLaxConfirms(t *testing.T) {
	remotetest.RunConfirmer(t, func(*testing.T) remotetest.ConfirmStore {
		return remotetest.NewLax(remotetest.NewMem())
	})
}
