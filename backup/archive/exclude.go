package archive

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

const (
	cacheTagName      = "CACHEDIR.TAG"
	cacheTagSignature = "Signature: 8a477f597d28d172789f06886806bc55"
)

// excluder decides which paths a backup leaves out. A pattern without a slash matches
// a name anywhere; one with a slash matches the whole absolute path (filepath.Match
// syntax), as in restic. A pattern ending in a slash matches directories only.
type excluder struct {
	names, paths []pattern
	caches       bool
}

type pattern struct {
	glob    string
	dirOnly bool
}

func newExcluder(globs []string, caches bool) (*excluder, error) {
	x := &excluder{caches: caches}
	for _, g := range globs {
		g = strings.TrimSpace(g)
		if g == "" {
			continue
		}
		p := pattern{glob: strings.TrimSuffix(g, "/"), dirOnly: strings.HasSuffix(g, "/")}
		if _, err := filepath.Match(p.glob, ""); err != nil {
			return nil, fmt.Errorf("exclude pattern %q: %w", g, err)
		}
		if strings.Contains(p.glob, "/") {
			x.paths = append(x.paths, p)
		} else {
			x.names = append(x.names, p)
		}
	}
	return x, nil
}

func (x *excluder) excluded(path, name string, isDir bool) bool {
	for _, p := range x.names {
		if ok, _ := filepath.Match(p.glob, name); ok && (isDir || !p.dirOnly) {
			return true
		}
	}
	for _, p := range x.paths {
		if ok, _ := filepath.Match(p.glob, path); ok && (isDir || !p.dirOnly) {
			return true
		}
	}
	return false
}

// ReadListFile reads a list, one entry a line, each trimmed of spaces; blank lines and
// lines starting with '#' are ignored. Exclude files and --files-from use it.
func ReadListFile(path string) ([]string, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var out []string
	sc := bufio.NewScanner(bytes.NewReader(data))
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line != "" && !strings.HasPrefix(line, "#") {
			out = append(out, line)
		}
	}
	return out, sc.Err()
}

// isCacheDir reports a directory marked by a valid CACHEDIR.TAG (bford.info/cachedir).
func isCacheDir(dir string, names []string) bool {
	found := false
	for _, n := range names {
		if n == cacheTagName {
			found = true
			break
		}
	}
	if !found {
		return false
	}
	f, err := os.Open(filepath.Join(dir, cacheTagName))
	if err != nil {
		return false
	}
	defer f.Close()
	buf := make([]byte, len(cacheTagSignature))
	n, _ := f.Read(buf)
	return n == len(buf) && string(buf) == cacheTagSignature
}
