package manifest

import (
	"fmt"
	"strings"
	"unicode/utf8"
)

// A proof is JSON, whose text cannot hold bytes that are not UTF-8, and a name may
// have them. Such a path is written for reading in Path, each stray byte as U+FFFD,
// and exactly in PathBytes; a UTF-8 path has no PathBytes.

func (p *Proof) setPath(path string) {
	if utf8.ValidString(path) {
		p.Path = path
		return
	}
	p.Path, p.PathBytes = displayPath(path), []byte(path)
}

// ExactPath is the path the proof names, byte for byte.
func (p *Proof) ExactPath() string {
	if p.PathBytes != nil {
		return string(p.PathBytes)
	}
	return p.Path
}

// displayPath replaces every byte that is not part of valid UTF-8 with U+FFFD, as
// encoding/json does when it writes such a string.
func displayPath(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); {
		r, n := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && n == 1 {
			b.WriteRune(utf8.RuneError)
		} else {
			b.WriteString(s[i : i+n])
		}
		i += n
	}
	return b.String()
}

// checkPath: the entries' names spell the path the proof names, and its two forms
// agree.
func (p *Proof) checkPath(spelled string) error {
	if p.PathBytes != nil && (utf8.Valid(p.PathBytes) || displayPath(string(p.PathBytes)) != p.Path) {
		return fmt.Errorf("path_bytes %q does not belong to path %q", p.PathBytes, p.Path)
	}
	if spelled != p.ExactPath() {
		return fmt.Errorf("the entries spell %q, the proof names %q", spelled, p.ExactPath())
	}
	return nil
}
