package crypto

import (
	"bytes"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/cairn-backup/cairn/internal/digest"
)

// testKDF keeps tests fast; production strength is checked in TestDefaultKDFStrength.
func testKDF() KDF { return KDF{Algorithm: "argon2id", Time: 1, MemoryKiB: minMemoryKiB, Threads: 1} }

func mustKey(t *testing.T) *Key { return mustKeyFor(t, XAES256GCM) }

func mustKeyFor(t *testing.T, c Cipher) *Key {
	t.Helper()
	k, err := NewRandomKey(c)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

var ciphers = map[string]Cipher{"xchacha20poly1305": XChaCha20Poly1305, "xaes256gcm": XAES256GCM}

func TestSealOpenBindsAD(t *testing.T) {
	for name, c := range ciphers {
		t.Run(name, func(t *testing.T) { testSealOpenBindsAD(t, c) })
	}
}

func testSealOpenBindsAD(t *testing.T, c Cipher) {
	k := mustKeyFor(t, c)
	repo := digest.Of([]byte("repo"))
	id := digest.Of([]byte("obj"))
	ad := AD(repo, "snapshot", id[:])
	plain := []byte("a snapshot record")
	sealed := k.Seal(nil, plain, ad)
	if len(sealed) != len(plain)+Overhead {
		t.Fatalf("sealed length %d, want %d", len(sealed), len(plain)+Overhead)
	}
	got, err := k.Open(nil, sealed, ad)
	if err != nil || !bytes.Equal(got, plain) {
		t.Fatalf("Open = %q, %v", got, err)
	}
	other := digest.Of([]byte("other"))
	cases := map[string][]byte{
		"other id":         AD(repo, "snapshot", other[:]),
		"other type":       AD(repo, "index", id[:]),
		"other repository": AD(other, "snapshot", id[:]),
	}
	for name, bad := range cases {
		if _, err := k.Open(nil, sealed, bad); !errors.Is(err, ErrAuth) {
			t.Errorf("%s: err = %v, want ErrAuth", name, err)
		}
	}
	if _, err := mustKeyFor(t, c).Open(nil, sealed, ad); !errors.Is(err, ErrAuth) {
		t.Errorf("other key: err = %v, want ErrAuth", err)
	}
	if _, err := mustKeyFor(t, 3-c).Open(nil, sealed, ad); !errors.Is(err, ErrAuth) {
		t.Errorf("other cipher, other key: err = %v, want ErrAuth", err)
	}
	rebound, err := keyFrom(k.raw[:], 3-c)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := rebound.Open(nil, sealed, ad); !errors.Is(err, ErrAuth) {
		t.Errorf("same key, other cipher: err = %v, want ErrAuth", err)
	}
	for i := range sealed {
		flipped := bytes.Clone(sealed)
		flipped[i] ^= 0x40
		if _, err := k.Open(nil, flipped, ad); !errors.Is(err, ErrAuth) {
			t.Fatalf("flipped byte %d: err = %v", i, err)
		}
	}
	for n := 0; n < len(sealed); n++ {
		if _, err := k.Open(nil, sealed[:n], ad); !errors.Is(err, ErrAuth) {
			t.Fatalf("truncated to %d: err = %v", n, err)
		}
	}
}

func TestNoncesDiffer(t *testing.T) {
	for name, c := range ciphers {
		k := mustKeyFor(t, c)
		a := k.Seal(nil, []byte("same"), nil)
		b := k.Seal(nil, []byte("same"), nil)
		if bytes.Equal(a[:NonceSize], b[:NonceSize]) || bytes.Equal(a, b) {
			t.Fatalf("%s: two seals of the same plaintext share a nonce", name)
		}
	}
}

// TestOpenInPlace checks the exact overlap pack.OpenBlobInPlace relies on.
func TestOpenInPlace(t *testing.T) {
	for name, c := range ciphers {
		k := mustKeyFor(t, c)
		plain := bytes.Repeat([]byte("cairn "), 1000)
		sealed := k.Seal(nil, plain, nil)
		got, err := k.Open(sealed[NonceSize:NonceSize], sealed, nil)
		if err != nil || !bytes.Equal(got, plain) {
			t.Fatalf("%s: in-place open = %v", name, err)
		}
	}
}

func TestUnknownCipher(t *testing.T) {
	if _, err := NewRandomKey(0); err == nil {
		t.Fatal("cipher 0 accepted")
	}
	if _, err := keyFrom(make([]byte, KeySize), 9); err == nil {
		t.Fatal("cipher 9 accepted")
	}
}

func TestADIsUnambiguous(t *testing.T) {
	var repo digest.ID
	if bytes.Equal(AD(repo, "ab", []byte("c")), AD(repo, "a", []byte("bc"))) {
		t.Fatal("AD does not separate kind from name")
	}
}

func TestKeyFileRoundTrip(t *testing.T) {
	master := mustKey(t)
	repo := digest.Of([]byte("repo"))
	kf, err := WrapKey(master, []byte("secret"), repo, testKDF(), time.Now(), "host", "user")
	if err != nil {
		t.Fatal(err)
	}
	data, err := kf.Encode()
	if err != nil {
		t.Fatal(err)
	}
	back, err := DecodeKeyFile(data)
	if err != nil {
		t.Fatal(err)
	}
	got, err := back.Unwrap([]byte("secret"), XAES256GCM)
	if err != nil {
		t.Fatal(err)
	}
	if got.Fingerprint() != master.Fingerprint() {
		t.Fatal("unwrapped key differs from the master key")
	}
	sealed := master.Seal(nil, []byte("x"), nil)
	if _, err := got.Open(nil, sealed, nil); err != nil {
		t.Fatalf("the unwrapped key does not open what the master sealed: %v", err)
	}
	if _, err := back.Unwrap([]byte("Secret"), XAES256GCM); !errors.Is(err, ErrWrongPassword) {
		t.Fatalf("wrong password: err = %v", err)
	}
}

func TestKeyFileBindsRepoAndParams(t *testing.T) {
	master := mustKey(t)
	kf, err := WrapKey(master, []byte("pw"), digest.Of([]byte("repo")), testKDF(), time.Now(), "", "")
	if err != nil {
		t.Fatal(err)
	}
	moved := *kf
	moved.Repo = digest.Of([]byte("elsewhere"))
	if _, err := moved.Unwrap([]byte("pw"), XAES256GCM); !errors.Is(err, ErrWrongPassword) {
		t.Errorf("key file claiming another repository opened: %v", err)
	}
	weakened := *kf
	weakened.KDF.Time = 2
	if _, err := weakened.Unwrap([]byte("pw"), XAES256GCM); !errors.Is(err, ErrWrongPassword) {
		t.Errorf("key file with altered parameters opened: %v", err)
	}
}

func TestDecodeKeyFileRejects(t *testing.T) {
	kf, _ := WrapKey(mustKey(t), []byte("pw"), digest.ID{}, testKDF(), time.Now(), "", "")
	good, _ := kf.Encode()
	mutate := func(f func(*KeyFile)) []byte {
		c := *kf
		f(&c)
		b, _ := c.Encode()
		return b
	}
	cases := map[string][]byte{
		"empty":         nil,
		"not json":      []byte("{"),
		"too big":       append(bytes.Clone(good), bytes.Repeat([]byte(" "), MaxKeyFileSize)...),
		"unknown field": bytes.Replace(good, []byte(`"version"`), []byte(`"extra": 1, "version"`), 1),
		"version":       mutate(func(k *KeyFile) { k.Version = 2 }),
		"memory bomb":   mutate(func(k *KeyFile) { k.KDF.MemoryKiB = 1 << 31 }),
		"time bomb":     mutate(func(k *KeyFile) { k.KDF.Time = 1 << 20 }),
		"weak":          mutate(func(k *KeyFile) { k.KDF.MemoryKiB = 64 }),
		"algorithm":     mutate(func(k *KeyFile) { k.KDF.Algorithm = "scrypt" }),
		"salt":          mutate(func(k *KeyFile) { k.KDF.Salt = k.KDF.Salt[:4] }),
		"wrapped":       mutate(func(k *KeyFile) { k.Wrapped = k.Wrapped[1:] }),
	}
	for name, data := range cases {
		if _, err := DecodeKeyFile(data); !errors.Is(err, ErrKeyFile) {
			t.Errorf("%s: err = %v, want ErrKeyFile", name, err)
		}
	}
}

func TestDefaultKDFStrength(t *testing.T) {
	p := DefaultKDF()
	// OWASP's argon2id floor: 46 MiB with 1 pass (or 19 MiB with 2).
	if p.MemoryKiB < 46<<10 || p.Time < 1 {
		t.Fatalf("default KDF %+v is below OWASP's recommendation", p)
	}
}

// A key file may ask for at most 256 MiB and about a second of argon2id: anything more
// is refused by name before the KDF runs, whatever the repository says.
func TestKeyFileCostBounded(t *testing.T) {
	kf, _ := WrapKey(mustKey(t), []byte("pw"), digest.ID{}, testKDF(), time.Now(), "", "")
	cases := []struct {
		name, param string
		time, mem   uint32
	}{
		{"documented maximum of earlier releases", "memory_kib", 64, 4 << 20},
		{"memory over 256 MiB", "memory_kib", 1, 256<<10 + 1},
		{"too many passes", "time", 65, 8 << 10},
		{"passes times memory", "time 5 × memory_kib", 5, 256 << 10},
	}
	for _, c := range cases {
		bad := *kf
		bad.KDF.Time, bad.KDF.MemoryKiB = c.time, c.mem
		data, _ := bad.Encode()
		_, err := DecodeKeyFile(data)
		if !errors.Is(err, ErrKeyFile) || !strings.Contains(err.Error(), c.param) {
			t.Errorf("%s: decode err = %v, want ErrKeyFile naming %s", c.name, err, c.param)
		}
		if _, err := bad.Unwrap([]byte("pw"), XAES256GCM); !errors.Is(err, ErrKeyFile) {
			t.Errorf("%s: unwrap err = %v, want ErrKeyFile before the KDF runs", c.name, err)
		}
	}
}

// Key files written with any default cairn has used still open.
func TestEarlierDefaultsOpen(t *testing.T) {
	defaults := []KDF{
		DefaultKDF(),
		{Algorithm: "argon2id", Time: 2, MemoryKiB: 64 << 10, Threads: 2},
		{Algorithm: "argon2id", Time: 1, MemoryKiB: 64 << 10, Threads: 2},
	}
	edge := KDF{Algorithm: "argon2id", Time: 4, MemoryKiB: 256 << 10, Threads: 1, Salt: make([]byte, saltSize)}
	if err := edge.validate(); err != nil {
		t.Errorf("the bound itself is refused: %v", err)
	}
	master := mustKey(t)
	for _, p := range defaults {
		kf, err := WrapKey(master, []byte("pw"), digest.ID{}, p, time.Now(), "", "")
		if err != nil {
			t.Fatalf("%+v: wrap: %v", p, err)
		}
		data, _ := kf.Encode()
		back, err := DecodeKeyFile(data)
		if err != nil {
			t.Fatalf("%+v: decode: %v", p, err)
		}
		if _, err := back.Unwrap([]byte("pw"), XAES256GCM); err != nil {
			t.Errorf("%+v: unwrap: %v", p, err)
		}
	}
}
