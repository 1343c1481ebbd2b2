package repo

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"io"
	"os"
	"path/filepath"

	"github.com/cairn-backup/cairn/internal/digest"
	"github.com/cairn-backup/cairn/remote"
)

// objectCache keeps copies of index segments and manifest packs on the client, so that
// a nightly run reads them from disk instead of the storage. Every cached object is
// still authenticated when used; a copy that fails is removed and fetched again. A nil
// cache (disabled) caches nothing.
type objectCache struct{ dir string }

const cacheTag = "Signature: 8a477f597d28d172789f06886806bc55\n# This is a cache directory of cairn; backups skip it.\n"

func newObjectCache(base string, repo digest.ID) *objectCache {
	if base == "" {
		return nil
	}
	dir := filepath.Join(base, repo.String())
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil // a cache that cannot be made is simply not used
	}
	tag := filepath.Join(base, "CACHEDIR.TAG")
	if _, err := os.Stat(tag); err != nil {
		_ = os.WriteFile(tag, []byte(cacheTag), 0o600)
	}
	return &objectCache{dir: dir}
}

// root returns the cache's directory, or "" without a cache.
func (c *objectCache) root() string {
	if c == nil {
		return ""
	}
	return c.dir
}

func (c *objectCache) path(kind, name string) string {
	return filepath.Join(c.dir, kind, name)
}

func (c *objectCache) get(kind, name string) ([]byte, bool) {
	if c == nil || !remote.ValidName(name) {
		return nil, false
	}
	data, err := os.ReadFile(c.path(kind, name))
	return data, err == nil
}

// getRange reads part of a cached object; a manifest walk reads many small nodes
// from the same few packs, so reading whole packs each time would dominate.
func (c *objectCache) getRange(kind, name string, off, n int64) ([]byte, bool) {
	if c == nil || !remote.ValidName(name) {
		return nil, false
	}
	f, err := os.Open(c.path(kind, name))
	if err != nil {
		return nil, false
	}
	defer f.Close()
	buf := make([]byte, n)
	if _, err := f.ReadAt(buf, off); err != nil {
		return nil, false
	}
	return buf, true
}

// put writes atomically; failures are ignored because the cache is only an optimisation.
func (c *objectCache) put(kind, name string, data []byte) {
	c.putFrom(kind, name, bytes.NewReader(data))
}

func (c *objectCache) putFrom(kind, name string, rd io.Reader) {
	if c == nil || !remote.ValidName(name) {
		return
	}
	dir := filepath.Join(c.dir, kind)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return
	}
	var suffix [8]byte
	_, _ = rand.Read(suffix[:])
	tmp := filepath.Join(dir, ".tmp-"+hex.EncodeToString(suffix[:]))
	if err := writeFile(tmp, rd); err != nil {
		_ = os.Remove(tmp)
		return
	}
	if err := os.Rename(tmp, c.path(kind, name)); err != nil {
		_ = os.Remove(tmp)
	}
}

func (c *objectCache) remove(kind, name string) {
	if c == nil || !remote.ValidName(name) {
		return
	}
	_ = os.Remove(c.path(kind, name))
}

// retain removes cached objects of kind that the repository no longer has, so a
// deleted index segment is not resurrected from the cache.
func (c *objectCache) retain(kind string, keep map[string]bool) {
	if c == nil {
		return
	}
	entries, err := os.ReadDir(filepath.Join(c.dir, kind))
	if err != nil {
		return
	}
	for _, e := range entries {
		if !keep[e.Name()] {
			_ = os.Remove(filepath.Join(c.dir, kind, e.Name()))
		}
	}
}

func writeFile(path string, rd io.Reader) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return err
	}
	if _, err := io.Copy(f, rd); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}
