package crypto

import (
	"bytes"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"runtime/debug"
	"time"

	"github.com/cairn-backup/cairn/internal/digest"
	"golang.org/x/crypto/argon2"
	"golang.org/x/crypto/chacha20poly1305"
)

// ErrWrongPassword reports a key file the password does not open.
var ErrWrongPassword = errors.New("wrong password")

// ErrKeyFile reports a key file that is malformed or out of bounds.
var ErrKeyFile = errors.New("invalid key file")

// MaxKeyFileSize bounds what DecodeKeyFile will parse.
const MaxKeyFileSize = 16 << 10

// KDF holds argon2id parameters; they travel in the key file so they can grow later.
type KDF struct {
	Algorithm string `json:"algorithm"`
	Time      uint32 `json:"time"`
	MemoryKiB uint32 `json:"memory_kib"`
	Threads   uint8  `json:"threads"`
	Salt      []byte `json:"salt"`
}

// DefaultKDF is OWASP's recommended argon2id setting (46 MiB, 1 pass; 1.4 times the
// memory of restic's scrypt), on two lanes: about 0.07 s on two cores. Its memory is
// the peak of most commands, so it is not set higher (docs/format.md).
func DefaultKDF() KDF {
	return KDF{Algorithm: "argon2id", Time: 1, MemoryKiB: 46 << 10, Threads: 2}
}

// Bounds a hostile key file cannot exceed, checked before the KDF runs: they cap what
// opening a key file costs (at most 256 MiB and about a second on two cores, whatever
// the repository says) and refuse parameters weaker than any cairn writes. Every
// default cairn has written (64 MiB with 2 passes, 64 MiB with 1, 46 MiB with 1) is
// well inside them.
const (
	minMemoryKiB = 8 << 10
	maxMemoryKiB = 256 << 10
	maxTime      = 64
	maxWorkKiB   = 1 << 20 // time × memory_kib: 1 GiB of passes, about 1 s on one lane
	maxThreads   = 64
	saltSize     = 32
)

// validate names the parameter out of bounds by its field in the key file.
func (p KDF) validate() error {
	switch {
	case p.Algorithm != "argon2id":
		return fmt.Errorf("%w: kdf algorithm %q is not argon2id", ErrKeyFile, p.Algorithm)
	case p.Time < 1 || p.Time > maxTime:
		return fmt.Errorf("%w: kdf time %d out of [1,%d]", ErrKeyFile, p.Time, maxTime)
	case p.MemoryKiB < minMemoryKiB:
		return fmt.Errorf("%w: kdf memory_kib %d is below %d", ErrKeyFile, p.MemoryKiB, minMemoryKiB)
	case p.MemoryKiB > maxMemoryKiB:
		return fmt.Errorf("%w: kdf memory_kib %d exceeds %d, the most a client spends opening a key file",
			ErrKeyFile, p.MemoryKiB, maxMemoryKiB)
	case uint64(p.Time)*uint64(p.MemoryKiB) > maxWorkKiB:
		return fmt.Errorf("%w: kdf time %d × memory_kib %d exceeds %d, the most a client spends opening a key file",
			ErrKeyFile, p.Time, p.MemoryKiB, maxWorkKiB)
	case p.Threads < 1 || p.Threads > maxThreads:
		return fmt.Errorf("%w: kdf threads %d out of [1,%d]", ErrKeyFile, p.Threads, maxThreads)
	case len(p.Salt) != saltSize:
		return fmt.Errorf("%w: kdf salt has %d bytes, want %d", ErrKeyFile, len(p.Salt), saltSize)
	}
	return nil
}

func (p KDF) derive(password []byte) []byte {
	var key []byte
	withPrefault(int(p.MemoryKiB)<<10, func() {
		key = argon2.IDKey(password, p.Salt, p.Time, p.MemoryKiB, p.Threads, chacha20poly1305.KeySize)
	})
	// The KDF's memory is garbage now; left to the collector they would set its
	// heap goal, and so the whole command's peak memory, to twice that.
	debug.FreeOSMemory()
	return key
}

// KeyFile is the stored form of one password's copy of the master key.
type KeyFile struct {
	Version int       `json:"version"`
	Repo    digest.ID `json:"repository"`
	Created time.Time `json:"created"`
	Host    string    `json:"host,omitempty"`
	User    string    `json:"user,omitempty"`
	KDF     KDF       `json:"kdf"`
	Wrapped []byte    `json:"wrapped"` // Seal(kek, master key, keyAD)
}

// WrapKey seals master under password for the repository repo.
func WrapKey(master *Key, password []byte, repo digest.ID, kdf KDF, created time.Time, host, user string) (*KeyFile, error) {
	kdf.Salt = make([]byte, saltSize)
	if _, err := rand.Read(kdf.Salt); err != nil {
		return nil, err
	}
	if err := kdf.validate(); err != nil {
		return nil, err
	}
	kek, err := keyFrom(kdf.derive(password), XChaCha20Poly1305)
	if err != nil {
		return nil, err
	}
	kf := &KeyFile{Version: 1, Repo: repo, Created: created.UTC(), Host: host, User: user, KDF: kdf}
	kf.Wrapped = kek.Seal(nil, master.raw[:], kf.ad())
	return kf, nil
}

// ad binds the wrapped key to its repository and KDF parameters, so neither can be
// swapped without the password failing.
func (kf *KeyFile) ad() []byte {
	p, _ := json.Marshal(kf.KDF)
	return AD(kf.Repo, "key", p)
}

// Unwrap derives the key-encryption key from password and opens the master key, bound
// to cipher c (the one the repository's format names).
func (kf *KeyFile) Unwrap(password []byte, c Cipher) (*Key, error) {
	if err := kf.KDF.validate(); err != nil {
		return nil, err
	}
	kek, err := keyFrom(kf.KDF.derive(password), XChaCha20Poly1305)
	if err != nil {
		return nil, err
	}
	raw, err := kek.Open(nil, kf.Wrapped, kf.ad())
	if err != nil {
		return nil, ErrWrongPassword
	}
	return keyFrom(raw, c)
}

// Encode returns the key file's bytes; its object name is their SHA-256.
func (kf *KeyFile) Encode() ([]byte, error) {
	return json.MarshalIndent(kf, "", "  ")
}

// DecodeKeyFile parses and bounds-checks a stored key file.
func DecodeKeyFile(data []byte) (*KeyFile, error) {
	if len(data) > MaxKeyFileSize {
		return nil, fmt.Errorf("%w: %d bytes exceeds %d", ErrKeyFile, len(data), MaxKeyFileSize)
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	var kf KeyFile
	if err := dec.Decode(&kf); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrKeyFile, err)
	}
	if kf.Version != 1 {
		return nil, fmt.Errorf("%w: version %d", ErrKeyFile, kf.Version)
	}
	if len(kf.Wrapped) != KeySize+Overhead {
		return nil, fmt.Errorf("%w: wrapped key has %d bytes", ErrKeyFile, len(kf.Wrapped))
	}
	if err := kf.KDF.validate(); err != nil {
		return nil, err
	}
	return &kf, nil
}
