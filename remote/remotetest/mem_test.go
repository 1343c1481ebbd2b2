package remotetest_test

import (
	"testing"

	"github.com/cairn-backup/cairn/remote"
	"github.com/cairn-backup/cairn/remote/remotetest"
)

func TestMem(t *testing.T) {
	remotetest.Run(t, func(*testing.T) remote.Storage { return remotetest.NewMem() })
}

// TestFaultyWithoutFaults: the decorator must be transparent until a fault is added.
func TestFaultyWithoutFaults(t *testing.T) {
	remotetest.Run(t, func(*testing.T) remote.Storage {
		return remotetest.NewFaulty(remotetest.NewMem())
	})
}

// TestMemCopies: neither the caller's slice nor a read buffer aliases the stored bytes.
func TestMemCopies(t *testing.T) {
	m := remotetest.NewMem()
	h := remote.Handle{Type: remote.Key, Name: "k1"}
	data := []byte("secret")
	if err := m.Put(t.Context(), h, remote.Bytes(data)); err != nil {
		t.Fatal(err)
	}
	data[0] = 'X'
	got, err := remote.ReadAll(t.Context(), m, h, 0, 0, 100)
	if err != nil {
		t.Fatal(err)
	}
	got[1] = 'Y'
	again, err := remote.ReadAll(t.Context(), m, h, 0, 0, 100)
	if err != nil {
		t.Fatal(err)
	}
	if string(again) != "secret" {
		t.Errorf("stored object changed through an alias: %q", again)
	}
}
