package crypto

import (
	"bytes"
	"errors"
	"reflect"
	"testing"
	"time"

	"github.com/cairn-backup/cairn/internal/digest"
	"github.com/cairn-backup/cairn/internal/golden"
)

// The golden files freeze the sealed envelope of each cipher and the key file, made
// with the fixed random source of package golden (the master key, the nonces and the
// salt all come from it); go test ./internal/crypto -run Golden -update rewrites them.

var goldenRepo = digest.Of([]byte("golden repository"))

// goldenKey is the master key the fixed random source draws first.
func goldenKey(t *testing.T, c Cipher) *Key {
	t.Helper()
	golden.Random(t)
	k, err := NewRandomKey(c)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func TestGoldenSeal(t *testing.T) {
	plain := []byte("a golden plaintext, sealed twice under one key")
	ad := AD(goldenRepo, "golden", []byte("name"))
	for _, c := range []struct {
		file   string
		cipher Cipher
	}{{"seal-xchacha20poly1305.hex", XChaCha20Poly1305}, {"seal-xaes256gcm.hex", XAES256GCM}} {
		k := goldenKey(t, c.cipher)
		// Two messages: XAES-256-GCM keeps the nonce prefix of the first.
		sealed := k.Seal(k.Seal(nil, plain, ad), plain, ad)
		golden.Check(t, c.file, golden.Hex(sealed))
		file := golden.ReadHex(t, c.file)
		if len(file) != 2*(len(plain)+Overhead) {
			t.Fatalf("%s: %d bytes, want two envelopes of %d", c.file, len(file), len(plain)+Overhead)
		}
		for i, env := range [][]byte{file[:len(file)/2], file[len(file)/2:]} {
			got, err := k.Open(nil, env, ad)
			if err != nil || !bytes.Equal(got, plain) {
				t.Errorf("%s message %d: %q, %v", c.file, i, got, err)
			}
		}
	}
}

func TestGoldenKeyFile(t *testing.T) {
	master := goldenKey(t, XAES256GCM)
	// The cheapest parameters a reader accepts: the format, not the cost, is tested.
	kdf := KDF{Algorithm: "argon2id", Time: 1, MemoryKiB: minMemoryKiB, Threads: 1}
	created := time.Date(2026, 3, 1, 12, 30, 0, 0, time.UTC)
	kf, err := WrapKey(master, []byte("golden password"), goldenRepo, kdf, created, "host", "ann")
	if err != nil {
		t.Fatal(err)
	}
	b, err := kf.Encode()
	if err != nil {
		t.Fatal(err)
	}
	golden.Check(t, "keyfile.json", b)

	got, err := DecodeKeyFile(golden.Read(t, "keyfile.json"))
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, kf) {
		t.Errorf("keyfile.json decodes to\n%+v\nwant\n%+v", got, kf)
	}
	k, err := got.Unwrap([]byte("golden password"), XAES256GCM)
	if err != nil {
		t.Fatal(err)
	}
	if k.Fingerprint() != master.Fingerprint() {
		t.Error("keyfile.json unwraps to another master key")
	}
	if _, err := got.Unwrap([]byte("another password"), XAES256GCM); !errors.Is(err, ErrWrongPassword) {
		t.Errorf("another password: %v, want ErrWrongPassword", err)
	}
}
