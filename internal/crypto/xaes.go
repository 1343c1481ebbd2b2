package crypto

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"fmt"
	"sync/atomic"
)

// xaes is XAES-256-GCM (c2sp.org/XAES-256-GCM): AES-256-GCM under a key derived per
// message from the first 12 bytes of a 24-byte nonce, the last 12 being GCM's own. It
// keeps the 192-bit nonces of format 1 at AES-NI speed. No maintained Go module
// offers it (the standard library keeps its copy internal), and it is a short
// composition of the standard library's AES and GCM, checked against the
// specification's vectors in xaes_test.go.
//
// Deriving a key costs a key schedule and ≈1.3 KB of garbage, more than sealing a
// small blob, so a writer keeps one random 12-byte prefix, and its derived key, for
// up to maxDerivedMessages messages or maxDerivedBytes bytes, drawing only the last
// 12 bytes per message; readers keep the keys of the last few prefixes they met.
// docs/format.md gives the bounds.
type xaes struct {
	block cipher.Block
	k1    [aes.BlockSize]byte // the CMAC subkey of the derivation

	sealing atomic.Pointer[sealer]     // the derived key this process seals under
	opened  [8]atomic.Pointer[derived] // recently derived keys, by nonce prefix
	next    atomic.Uint32              // the slot of opened the next derivation replaces
}

// The limits on one derived key, far inside GCM's: a repository of 2^32 messages
// repeats a nonce with a chance below 2^-52 (docs/format.md works it out).
var (
	maxDerivedMessages uint64 = 1 << 12
	maxDerivedBytes    uint64 = 1 << 32
)

type derived struct {
	prefix [12]byte
	aead   cipher.AEAD
}

type sealer struct {
	derived
	messages, bytes atomic.Uint64
}

func newXAES(key []byte) (*xaes, error) {
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, err
	}
	x := &xaes{block: block}
	var l [aes.BlockSize]byte
	block.Encrypt(l[:], l[:])
	// K1 = L << 1, reduced by the polynomial x^128 + x^7 + x^2 + x + 1 on carry.
	for i := 0; i < aes.BlockSize-1; i++ {
		x.k1[i] = l[i]<<1 | l[i+1]>>7
	}
	x.k1[aes.BlockSize-1] = l[aes.BlockSize-1]<<1 ^ (l[0]>>7)*0x87
	return x, nil
}

// derive returns AES-256-GCM under the key a 12-byte nonce prefix derives:
// AES(M1 ⊕ K1) ‖ AES(M2 ⊕ K1) with Mi = 0x00 ‖ i ‖ 'X' ‖ 0x00 ‖ prefix.
func (x *xaes) derive(prefix []byte) cipher.AEAD {
	var k [2 * aes.BlockSize]byte
	for i := range 2 {
		m := k[i*aes.BlockSize : (i+1)*aes.BlockSize]
		m[1], m[2] = byte(i+1), 'X'
		copy(m[4:], prefix)
		for j := range m {
			m[j] ^= x.k1[j]
		}
		x.block.Encrypt(m, m)
	}
	block, err := aes.NewCipher(k[:])
	if err != nil {
		panic(err) // unreachable: the key is always 32 bytes
	}
	g, err := cipher.NewGCM(block)
	if err != nil {
		panic(err) // unreachable: AES has a 16-byte block
	}
	return g
}

// aead returns the GCM of a 24-byte nonce, derived once per prefix among the last
// few seen: the blobs of one pack, written by one process, share a prefix.
func (x *xaes) aead(nonce []byte) cipher.AEAD {
	if len(nonce) != 24 {
		panic("crypto: XAES-256-GCM takes a 24-byte nonce") // as cipher.AEAD's own do
	}
	prefix := [12]byte(nonce[:12])
	for i := range x.opened {
		if d := x.opened[i].Load(); d != nil && d.prefix == prefix {
			return d.aead
		}
	}
	d := &derived{prefix: prefix, aead: x.derive(prefix[:])}
	x.opened[x.next.Add(1)%uint32(len(x.opened))].Store(d)
	return d.aead
}

// sealFresh seals under this process's current prefix and 12 fresh random bytes,
// moving to a new random prefix when the current one has reached its limits.
func (x *xaes) sealFresh(dst, plaintext, ad []byte) []byte {
	s := x.sealerFor(uint64(len(plaintext)))
	var nonce [NonceSize]byte
	copy(nonce[:12], s.prefix[:])
	randomBytes(nonce[12:])
	dst = append(dst, nonce[:]...)
	return s.aead.Seal(dst, nonce[12:], plaintext, ad)
}

func (x *xaes) sealerFor(n uint64) *sealer {
	for {
		s := x.sealing.Load()
		if s != nil && s.messages.Add(1) <= maxDerivedMessages && s.bytes.Add(n) <= maxDerivedBytes {
			return s
		}
		fresh := &sealer{}
		randomBytes(fresh.prefix[:])
		fresh.aead = x.derive(fresh.prefix[:])
		fresh.messages.Store(1)
		fresh.bytes.Store(n)
		if x.sealing.CompareAndSwap(s, fresh) {
			return fresh
		}
	}
}

// randomBytes fills b from the system's random source.
func randomBytes(b []byte) {
	if _, err := rand.Read(b); err != nil {
		// crypto/rand.Read never fails on supported platforms (Go 1.24+ panics itself).
		panic(fmt.Sprintf("crypto/rand: %v", err))
	}
}

// NonceSize, Overhead, Seal and Open make xaes a cipher.AEAD with a 24-byte nonce.
func (x *xaes) NonceSize() int { return 24 }
func (x *xaes) Overhead() int  { return 16 }

func (x *xaes) Seal(dst, nonce, plaintext, ad []byte) []byte {
	return x.aead(nonce).Seal(dst, nonce[12:], plaintext, ad)
}

func (x *xaes) Open(dst, nonce, ciphertext, ad []byte) ([]byte, error) {
	return x.aead(nonce).Open(dst, nonce[12:], ciphertext, ad)
}
