package repo

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/cairn-backup/cairn/internal/crypto"
)

func FuzzDecodeConfig(f *testing.F) {
	key, _ := crypto.NewRandomKey(crypto.XAES256GCM)
	cfg, _ := newConfig(time.Unix(0, 0), 0, 0, nil)
	good, _ := encodeConfig(cfg, key)
	f.Add(good)
	f.Add(good[:configHeaderSize])
	f.Fuzz(func(t *testing.T, data []byte) {
		c, err := decodeConfig(data, key)
		if err == nil && c.ID != cfg.ID {
			t.Fatal("a config opened under the wrong repository id")
		}
	})
}

// FuzzParseConfig reaches the JSON decoder behind the seal.
func FuzzParseConfig(f *testing.F) {
	cfg, _ := newConfig(time.Unix(0, 0), 0, 0, nil)
	plain, _ := json.Marshal(cfg)
	f.Add(plain)
	f.Add([]byte(`{"version":1}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		c, err := parseConfig(data, configHeader{ID: cfg.ID, Version: cfg.Version})
		if err != nil {
			return
		}
		if _, err := c.Pol(); err != nil || c.MaxChunk > 8<<20 || c.PackSize > 128<<20 {
			t.Fatalf("accepted an invalid config: %+v", c)
		}
	})
}
