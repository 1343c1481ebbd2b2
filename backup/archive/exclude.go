package archive

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/cairn-backup/cairn/internal/fsys"
)

const (
	cacheTagName      = "CACHEDIR.TAG"
	cacheTagSignature = "Signature: 8a477f597d28d172789f06886806bc55"
)

// excluder decides which paths a backup leaves out. A pattern without a slash matches
// a name anywhere; one with a slash matches the whole absolute path (filepath.Match
// syntax), as in restic. A pattern ending in a slash matches directories only.
//
// Patterns given case-insensitively (--iexclude) match the name or path in lower case.
// A file larger than largerThan (when it is above 0) is left out, and so is a
// directory holding one of the marker files (--exclude-if-present).
type excluder struct {
	names, paths   []pattern
	inames, ipaths []pattern // matched in lower case
	caches         bool
	largerThan     int64
	markers        []marker
}

// marker is a file whose presence excludes its directory; with a header, only when
// the file starts with it (restic's "FILE:header", e.g. CACHEDIR.TAG:Signature: …).
type marker struct {
	name, header string
}

type pattern struct {
	glob    string
	dirOnly bool
}

// ExcludeOptions are the rules that leave parts of the source out of a snapshot.
type ExcludeOptions struct {
	Globs      []string // --exclude
	IGlobs     []string // --iexclude: matched ignoring case
	Caches     bool     // --exclude-caches
	LargerThan int64    // --exclude-larger-than, in bytes; 0: no limit
	IfPresent  []string // --exclude-if-present: FILE or FILE:header
}

func newExcluder(o ExcludeOptions) (*excluder, error) {
	x := &excluder{caches: o.Caches, largerThan: o.LargerThan}
	var err error
	if x.names, x.paths, err = patterns(o.Globs, false); err != nil {
		return nil, err
	}
	if x.inames, x.ipaths, err = patterns(o.IGlobs, true); err != nil {
		return nil, err
	}
	for _, m := range o.IfPresent {
		name, header, _ := strings.Cut(m, ":")
		if !validMarker(name) {
			return nil, fmt.Errorf("--exclude-if-present %q: want a file name, not a path", m)
		}
		x.markers = append(x.markers, marker{name, header})
	}
	return x, nil
}

func validMarker(m string) bool {
	return m != "" && m != "." && m != ".." && !strings.ContainsAny(m, "/\x00")
}

// patterns splits globs into name and path patterns, lower-cased when fold is set.
func patterns(globs []string, fold bool) (names, paths []pattern, err error) {
	for _, g := range globs {
		g = strings.TrimSpace(g)
		if g == "" {
			continue
		}
		if fold {
			g = strings.ToLower(g)
		}
		p := pattern{glob: strings.TrimSuffix(g, "/"), dirOnly: strings.HasSuffix(g, "/")}
		if _, err := filepath.Match(p.glob, ""); err != nil {
			return nil, nil, fmt.Errorf("exclude pattern %q: %w", g, err)
		}
		if strings.Contains(p.glob, "/") {
			paths = append(paths, p)
		} else {
			names = append(names, p)
		}
	}
	return names, paths, nil
}

func (x *excluder) excluded(path, name string, info fsys.Info) bool {
	isDir := info.Kind == fsys.Dir
	if x.largerThan > 0 && info.Kind == fsys.Regular && info.Size > x.largerThan {
		return true
	}
	if matchAny(x.names, name, isDir) || matchAny(x.paths, path, isDir) {
		return true
	}
	if len(x.inames)+len(x.ipaths) > 0 &&
		(matchAny(x.inames, strings.ToLower(name), isDir) || matchAny(x.ipaths, strings.ToLower(path), isDir)) {
		return true
	}
	return isDir && x.marked(path)
}

func matchAny(ps []pattern, s string, isDir bool) bool {
	for _, p := range ps {
		if ok, _ := filepath.Match(p.glob, s); ok && (isDir || !p.dirOnly) {
			return true
		}
	}
	return false
}

// marked reports a directory that holds one of the marker files (one lstat each, and
// a read of the first bytes of those with a header).
func (x *excluder) marked(dir string) bool {
	for _, m := range x.markers {
		p := childPath(dir, m.name)
		if _, err := fsys.Lstat(p); err != nil {
			continue
		}
		if m.header == "" || startsWith(p, m.header) {
			return true
		}
	}
	return false
}

// startsWith reports whether the file at p begins with prefix.
func startsWith(p, prefix string) bool {
	f, err := os.Open(p)
	if err != nil {
		return false
	}
	defer f.Close()
	buf := make([]byte, len(prefix))
	_, err = io.ReadFull(f, buf)
	return err == nil && string(buf) == prefix
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
