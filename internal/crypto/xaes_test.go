package crypto

import (
	"bytes"
	"crypto/sha3"
	"encoding/hex"
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
