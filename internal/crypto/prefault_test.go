package crypto

import (
	"bytes"
	"testing"

	"golang.org/x/crypto/argon2"
)

// TestPrefaultKeepsTheKey: whether or not the memory was faulted in ahead, a
// derivation gives argon2id's key (the first call of a process takes the prefault path).
func TestPrefaultKeepsTheKey(t *testing.T) {
	p := testKDF()
	p.Salt = bytes.Repeat([]byte{7}, saltSize)
	want := argon2.IDKey([]byte("pw"), p.Salt, p.Time, p.MemoryKiB, p.Threads, KeySize)
	for range 2 {
		if got := p.derive([]byte("pw")); !bytes.Equal(got, want) {
			t.Fatalf("derive = %x, want %x", got, want)
		}
	}
	var ran bool
	withPrefault(1<<20, func() { ran = true })
	if !ran {
		t.Fatal("withPrefault did not run fn")
	}
}
