package crypto

import (
	"crypto/aes"
	"crypto/cipher"
)

// xaes is XAES-256-GCM (c2sp.org/XAES-256-GCM): AES-256-GCM under a key derived per
// message from the first 12 bytes of a 24-byte nonce, the last 12 being GCM's own. It
// keeps the 192-bit random nonces of format 1 at AES-NI speed. No maintained Go module
// offers it (the standard library keeps its copy internal), and it is a short
// composition of the standard library's AES and GCM, checked against the
// specification's vectors in xaes_test.go.
type xaes struct {
	block cipher.Block
	k1    [aes.BlockSize]byte // the CMAC subkey of the derivation
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

// aead returns AES-256-GCM under the key the first 12 nonce bytes derive:
// AES(M1 ⊕ K1) ‖ AES(M2 ⊕ K1) with Mi = 0x00 ‖ i ‖ 'X' ‖ 0x00 ‖ nonce[:12].
func (x *xaes) aead(nonce []byte) cipher.AEAD {
	if len(nonce) != 24 {
		panic("crypto: XAES-256-GCM takes a 24-byte nonce") // as cipher.AEAD's own do
	}
	var k [2 * aes.BlockSize]byte
	for i := range 2 {
		m := k[i*aes.BlockSize : (i+1)*aes.BlockSize]
		m[1], m[2] = byte(i+1), 'X'
		copy(m[4:], nonce[:12])
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

// NonceSize, Overhead, Seal and Open make xaes a cipher.AEAD with a 24-byte nonce.
func (x *xaes) NonceSize() int { return 24 }
func (x *xaes) Overhead() int  { return 16 }

func (x *xaes) Seal(dst, nonce, plaintext, ad []byte) []byte {
	return x.aead(nonce).Seal(dst, nonce[12:], plaintext, ad)
}

func (x *xaes) Open(dst, nonce, ciphertext, ad []byte) ([]byte, error) {
	return x.aead(nonce).Open(dst, nonce[12:], ciphertext, ad)
}
