// Package crypto seals repository objects with XAES-256-GCM (format 2) or
// XChaCha20-Poly1305 (format 1) and wraps master keys under passwords with argon2id.
// Nonces are 192 bits drawn at random (format 2 keeps a writer's first 96 for up to
// 2^12 messages): they stay collision-free far beyond 2^32 messages, so no counter
// state is needed across processes or hosts (see docs/format.md).
package crypto

import (
	"crypto/cipher"
	"crypto/rand"
	"crypto/sha256"
	"errors"
	"fmt"

	"github.com/cairn-backup/cairn/internal/digest"
	"golang.org/x/crypto/chacha20poly1305"
)

// KeySize is the length of a master key.
const KeySize = chacha20poly1305.KeySize

// NonceSize and TagSize make up Overhead, the bytes Seal adds to a plaintext.
const (
	NonceSize = chacha20poly1305.NonceSizeX
	TagSize   = chacha20poly1305.Overhead
	Overhead  = NonceSize + TagSize
)

// Cipher names the AEAD a key seals with; a repository's format version picks it.
type Cipher uint8

const (
	// XChaCha20Poly1305 seals format 1 repositories and every key file.
	XChaCha20Poly1305 Cipher = 1
	// XAES256GCM seals format 2 repositories: 2.5 times faster where AES-NI exists.
	XAES256GCM Cipher = 2
)

// ErrAuth reports a ciphertext that does not open: damaged, truncated, sealed under
// another key, or moved to another id, type or repository.
var ErrAuth = errors.New("authentication failed")

// Key is a master key bound to one cipher. It is safe for concurrent use.
type Key struct {
	raw  [KeySize]byte
	aead cipher.AEAD
}

// NewRandomKey returns a fresh master key from the system's random source.
func NewRandomKey(c Cipher) (*Key, error) {
	var raw [KeySize]byte
	if _, err := rand.Read(raw[:]); err != nil {
		return nil, fmt.Errorf("read random key: %w", err)
	}
	return keyFrom(raw[:], c)
}

func keyFrom(raw []byte, c Cipher) (*Key, error) {
	if len(raw) != KeySize {
		return nil, fmt.Errorf("key has %d bytes, want %d", len(raw), KeySize)
	}
	k := &Key{}
	copy(k.raw[:], raw)
	var err error
	switch c {
	case XChaCha20Poly1305:
		k.aead, err = chacha20poly1305.NewX(k.raw[:])
	case XAES256GCM:
		k.aead, err = newXAES(k.raw[:])
	default:
		err = fmt.Errorf("unknown cipher %d", c)
	}
	if err != nil {
		return nil, err
	}
	return k, nil
}

// Fingerprint identifies the key without revealing it; clients pin it per repository.
func (k *Key) Fingerprint() digest.ID {
	return sha256.Sum256(append([]byte("cairn key fingerprint v1\x00"), k.raw[:]...))
}

// Seal appends nonce ‖ ciphertext ‖ tag of plaintext to dst. ad is authenticated, not
// stored: the reader must present the same ad to open it.
func (k *Key) Seal(dst, plaintext, ad []byte) []byte {
	return seal(k.aead, dst, plaintext, ad)
}

// Open reverses Seal, appending the plaintext to dst.
func (k *Key) Open(dst, sealed, ad []byte) ([]byte, error) {
	return open(k.aead, dst, sealed, ad)
}

func seal(aead cipher.AEAD, dst, plaintext, ad []byte) []byte {
	if x, ok := aead.(*xaes); ok {
		return x.sealFresh(dst, plaintext, ad)
	}
	var nonce [NonceSize]byte
	randomBytes(nonce[:])
	dst = append(dst, nonce[:]...)
	return aead.Seal(dst, nonce[:], plaintext, ad)
}

func open(aead cipher.AEAD, dst, sealed, ad []byte) ([]byte, error) {
	if len(sealed) < Overhead {
		return nil, fmt.Errorf("%w: %d bytes is shorter than the %d-byte envelope", ErrAuth, len(sealed), Overhead)
	}
	out, err := aead.Open(dst, sealed[:NonceSize], sealed[NonceSize:], ad)
	if err != nil {
		return nil, ErrAuth
	}
	return out, nil
}

// AD builds the associated data that binds a sealed object to its repository, its type
// and its name: an object moved, retyped or copied from another repository fails to open.
func AD(repo digest.ID, kind string, name []byte) []byte {
	ad := make([]byte, 0, len("cairn-v1\x00")+digest.Size+2+len(kind)+len(name))
	ad = append(ad, "cairn-v1\x00"...)
	ad = append(ad, repo[:]...)
	ad = append(ad, byte(len(kind)))
	ad = append(ad, kind...)
	ad = append(ad, byte(len(name)))
	return append(ad, name...)
}
