package crypto

import (
	"bytes"
	"crypto/sha3"
	"encoding/hex"
	"fmt"
	"sync"
	"testing"
)

// The vectors of c2sp.org/XAES-256-GCM: two explicit ones and the hash of 10,000
// ciphertexts drawn from SHAKE-128, which pins every length of plaintext and AD below
// 256 bytes.
func TestXAESVectors(t *testing.T) {
	nonce := []byte("ABCDEFGHIJKLMNOPQRSTUVWX")
	cases := []struct {
		key  byte
		ad   string
		want string
	}{
		{0x01, "", "ce546ef63c9cc60765923609b33a9a1974e96e52daf2fcf7075e2271"},
		{0x03, "c2sp.org/XAES-256-GCM", "986ec1832593df5443a179437fd083bf3fdb41abd740a21f71eb769d"},
	}
	for _, c := range cases {
		x, err := newXAES(bytes.Repeat([]byte{c.key}, 32))
		if err != nil {
			t.Fatal(err)
		}
		got := x.Seal(nil, nonce, []byte("XAES-256-GCM"), []byte(c.ad))
		if hex.EncodeToString(got) != c.want {
			t.Errorf("key %#x: got %x, want %s", c.key, got, c.want)
		}
		plain, err := x.Open(nil, nonce, got, []byte(c.ad))
		if err != nil || string(plain) != "XAES-256-GCM" {
			t.Errorf("key %#x: open = %q, %v", c.key, plain, err)
		}
	}
}

func TestXAESAccumulated(t *testing.T) {
	src, acc := sha3.NewSHAKE128(), sha3.NewSHAKE128()
	read := func(n int) []byte {
		b := make([]byte, n)
		src.Read(b)
		return b
	}
	for range 10_000 {
		key, nonce := read(32), read(24)
		plain := read(int(read(1)[0]))
		ad := read(int(read(1)[0]))
		x, err := newXAES(key)
		if err != nil {
			t.Fatal(err)
		}
		sealed := x.Seal(nil, nonce, plain, ad)
		back, err := x.Open(nil, nonce, sealed, ad)
		if err != nil || !bytes.Equal(back, plain) {
			t.Fatalf("round trip failed: %v", err)
		}
		acc.Write(sealed)
	}
	want := "e6b9edf2df6cec60c8cbd864e2211b597fb69a529160cd040d56c0c210081939"
	sum := make([]byte, 32)
	acc.Read(sum)
	if got := hex.EncodeToString(sum); got != want {
		t.Fatalf("accumulated hash %s, want %s", got, want)
	}
}

// withLimits lowers the limits on one derived key for a test.
func withLimits(t *testing.T, messages, bytes uint64) {
	m, b := maxDerivedMessages, maxDerivedBytes
	maxDerivedMessages, maxDerivedBytes = messages, bytes
	t.Cleanup(func() { maxDerivedMessages, maxDerivedBytes = m, b })
}

func prefixOf(sealed []byte) string { return string(sealed[:12]) }

// A writer keeps its nonce prefix, and so its derived key, across messages, while the
// 12 bytes GCM uses are fresh for each.
func TestXAESSealKeepsPrefix(t *testing.T) {
	k, err := NewRandomKey(XAES256GCM)
	if err != nil {
		t.Fatal(err)
	}
	a, b := k.Seal(nil, []byte("one"), nil), k.Seal(nil, []byte("two"), nil)
	if prefixOf(a) != prefixOf(b) {
		t.Error("two seals in a row drew different prefixes")
	}
	if bytes.Equal(a[12:NonceSize], b[12:NonceSize]) {
		t.Error("two seals share GCM's nonce")
	}
	other, _ := NewRandomKey(XAES256GCM)
	if prefixOf(other.Seal(nil, []byte("one"), nil)) == prefixOf(a) {
		t.Error("two keys drew the same prefix")
	}
}

// A derived key is left for a new random prefix after maxDerivedMessages messages or
// maxDerivedBytes bytes, and messages under every prefix still open, long after the
// reader's few remembered keys have moved on.
func TestXAESRotatesPrefix(t *testing.T) {
	for _, c := range []struct {
		name            string
		messages, bytes uint64
		size, perPrefix int
	}{
		{"messages", 3, 1 << 20, 10, 3},
		{"bytes", 1 << 10, 100, 40, 2},
	} {
		t.Run(c.name, func(t *testing.T) {
			withLimits(t, c.messages, c.bytes)
			k, _ := NewRandomKey(XAES256GCM)
			var sealed [][]byte
			count := map[string]int{}
			for i := range 60 {
				s := k.Seal(nil, bytes.Repeat([]byte{byte(i)}, c.size), []byte("ad"))
				sealed = append(sealed, s)
				count[prefixOf(s)]++
			}
			if len(count) != 60/c.perPrefix {
				t.Errorf("%d prefixes for 60 messages, want %d", len(count), 60/c.perPrefix)
			}
			for p, n := range count {
				if n != c.perPrefix {
					t.Errorf("prefix %x sealed %d messages, want %d", p, n, c.perPrefix)
				}
			}
			for i, s := range sealed {
				plain, err := k.Open(nil, s, []byte("ad"))
				if err != nil || !bytes.Equal(plain, bytes.Repeat([]byte{byte(i)}, c.size)) {
					t.Fatalf("message %d: %v", i, err)
				}
			}
		})
	}
}

// Seals and opens from many goroutines, with prefixes turning over quickly, all round
// trip (run under -race by make test).
func TestXAESConcurrent(t *testing.T) {
	withLimits(t, 5, 1<<20)
	k, _ := NewRandomKey(XAES256GCM)
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for g := range 8 {
		wg.Go(func() {
			for i := range 200 {
				msg := fmt.Appendf(nil, "goroutine %d message %d", g, i)
				plain, err := k.Open(nil, k.Seal(nil, msg, nil), nil)
				if err != nil || !bytes.Equal(plain, msg) {
					errs <- fmt.Errorf("%s: %v", msg, err)
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}

func BenchmarkOpen(b *testing.B) {
	for name, c := range ciphers {
		for _, size := range []int{1 << 10, 768 << 10} {
			k, _ := NewRandomKey(c)
			sealed := k.Seal(nil, make([]byte, size), nil)
			buf := make([]byte, 0, size)
			b.Run(name+"/"+map[int]string{1 << 10: "1KiB", 768 << 10: "768KiB"}[size], func(b *testing.B) {
				b.SetBytes(int64(size))
				for b.Loop() {
					if _, err := k.Open(buf, sealed, nil); err != nil {
						b.Fatal(err)
					}
				}
			})
		}
	}
}
