package repo

import (
	"bytes"
	"cmp"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"time"

	"github.com/cairn-backup/cairn/internal/crypto"
	"github.com/cairn-backup/cairn/internal/digest"
	"github.com/restic/chunker"
)

// FormatVersion is the repository format init writes; this build reads formats
// MinFormatVersion to FormatVersion. They differ only in the cipher (cipherFor).
const (
	FormatVersion    = 2
	MinFormatVersion = 1
)

// cipherFor names the cipher that seals every object of a repository of format version.
func cipherFor(version int) (crypto.Cipher, error) {
	switch version {
	case 1:
		return crypto.XChaCha20Poly1305, nil
	case 2:
		return crypto.XAES256GCM, nil
	}
	return 0, fmt.Errorf("%w: format version %d (this cairn reads %d to %d)", ErrVersion, version, MinFormatVersion, FormatVersion)
}

// configMagic starts the config object; the repository id follows in clear text so a
// reader knows which associated data to open the sealed part with.
var configMagic = []byte("CAIRNCFG")

const (
	configHeaderSize = 8 + 1 + digest.Size
	maxConfigSize    = 64 << 10
)

// Config is the repository's encrypted configuration, written once by init.
type Config struct {
	Version    int       `json:"version"`
	ID         digest.ID `json:"id"`
	Created    time.Time `json:"created"`
	Polynomial string    `json:"chunker_polynomial"` // hex; secret, so chunk sizes reveal less
	MinChunk   uint      `json:"min_chunk"`
	AvgBits    uint      `json:"avg_chunk_bits"`
	MaxChunk   uint      `json:"max_chunk"`
	PackSize   int       `json:"pack_size"`
	// ObjectLock is set by init --object-lock; older repositories have none.
	ObjectLock *LockConfig `json:"object_lock,omitempty"`
}

// Pol returns the chunker polynomial.
func (c Config) Pol() (chunker.Pol, error) {
	var p uint64
	if _, err := fmt.Sscanf(c.Polynomial, "%x", &p); err != nil {
		return 0, fmt.Errorf("%w: polynomial %q", ErrCorrupt, c.Polynomial)
	}
	pol := chunker.Pol(p)
	if !pol.Irreducible() {
		return 0, fmt.Errorf("%w: polynomial %s is not irreducible", ErrCorrupt, c.Polynomial)
	}
	return pol, nil
}

func newConfig(now time.Time, packSize, version int, lock *LockConfig) (*Config, error) {
	var id digest.ID
	if _, err := rand.Read(id[:]); err != nil {
		return nil, err
	}
	pol, err := chunker.RandomPolynomial()
	if err != nil {
		return nil, err
	}
	return &Config{
		Version: cmp.Or(version, FormatVersion), ID: id, Created: now.UTC(),
		Polynomial: fmt.Sprintf("%x", uint64(pol)),
		MinChunk:   DefaultMinChunk, AvgBits: DefaultAvgBits, MaxChunk: DefaultMaxChunk,
		PackSize: cmp.Or(packSize, DefaultPackSize), ObjectLock: lock,
	}, nil
}

// Chunking and packing defaults, fixed per repository at init.
const (
	DefaultMinChunk = 512 << 10
	DefaultAvgBits  = 18 // 256 KiB beyond the minimum: even chunks, see docs/benchmarks.md
	DefaultMaxChunk = 4 << 20
	DefaultPackSize = 16 << 20
)

func (c *Config) validate() error {
	if _, err := cipherFor(c.Version); err != nil {
		return err
	}
	switch {
	case c.MinChunk < 1<<10 || c.MaxChunk > 8<<20 || c.MinChunk >= c.MaxChunk:
		return fmt.Errorf("%w: chunk bounds %d..%d", ErrCorrupt, c.MinChunk, c.MaxChunk)
	case c.AvgBits < 10 || c.AvgBits > 23:
		return fmt.Errorf("%w: average chunk bits %d", ErrCorrupt, c.AvgBits)
	case c.PackSize < 1<<20 || c.PackSize > 128<<20:
		return fmt.Errorf("%w: pack size %d", ErrCorrupt, c.PackSize)
	}
	if err := c.ObjectLock.validate(); err != nil {
		return err
	}
	_, err := c.Pol()
	return err
}

func configAD(id digest.ID) []byte { return crypto.AD(id, "config", nil) }

// encodeConfig returns magic ‖ version ‖ repository id ‖ Seal(JSON).
func encodeConfig(c *Config, key *crypto.Key) ([]byte, error) {
	plain, err := json.Marshal(c)
	if err != nil {
		return nil, err
	}
	out := make([]byte, 0, configHeaderSize+len(plain)+crypto.Overhead)
	out = append(out, configMagic...)
	out = append(out, byte(c.Version))
	out = append(out, c.ID[:]...)
	return key.Seal(out, plain, configAD(c.ID)), nil
}

// configHeader is the clear-text start of a config object: what a reader needs before
// it can open the rest (the cipher comes from the version).
type configHeader struct {
	ID      digest.ID
	Version int
	Cipher  crypto.Cipher
}

// readConfigHeader checks and reads the clear-text header of a config object.
func readConfigHeader(data []byte) (configHeader, error) {
	var h configHeader
	if len(data) > maxConfigSize {
		return h, fmt.Errorf("%w: config has %d bytes", ErrCorrupt, len(data))
	}
	if len(data) < configHeaderSize+crypto.Overhead || !bytes.Equal(data[:8], configMagic) {
		return h, fmt.Errorf("%w: the config is not a cairn repository's (another tool's repository, or damaged)", ErrCorrupt)
	}
	h.Version = int(data[8])
	c, err := cipherFor(h.Version)
	if err != nil {
		return h, err
	}
	h.Cipher = c
	copy(h.ID[:], data[9:configHeaderSize])
	return h, nil
}

// decodeConfig opens and validates a config object with key, which must be bound to
// the cipher the header names.
func decodeConfig(data []byte, key *crypto.Key) (*Config, error) {
	h, err := readConfigHeader(data)
	if err != nil {
		return nil, err
	}
	plain, err := key.Open(nil, data[configHeaderSize:], configAD(h.ID))
	if err != nil {
		return nil, fmt.Errorf("open config: %w", err)
	}
	return parseConfig(plain, h)
}

// parseConfig decodes the opened JSON and checks it against the clear-text header.
func parseConfig(plain []byte, h configHeader) (*Config, error) {
	id := h.ID
	dec := json.NewDecoder(bytes.NewReader(plain))
	dec.DisallowUnknownFields()
	var c Config
	if err := dec.Decode(&c); err != nil {
		return nil, fmt.Errorf("%w: config: %v", ErrCorrupt, err)
	}
	if c.ID != id {
		return nil, fmt.Errorf("%w: config names repository %s inside, %s outside", ErrCorrupt, c.ID.Short(), id.Short())
	}
	if c.Version != h.Version {
		return nil, fmt.Errorf("%w: config says format %d inside, %d outside", ErrCorrupt, c.Version, h.Version)
	}
	if err := c.validate(); err != nil {
		return nil, err
	}
	return &c, nil
}
