package profile

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"regexp"
	"sort"
	"strings"

	"github.com/pelletier/go-toml/v2"
)

// maxFile bounds what Load reads: a profile file is a few kilobytes.
const maxFile = 1 << 20

var validName = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]*$`)

// Load reads and checks the profile file at path. A file holding a secret (password,
// or a secret in env) must not be readable by group or others.
func Load(path string) (*File, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read profile file: %w", err)
	}
	if len(data) > maxFile {
		return nil, fmt.Errorf("%s: larger than %d bytes", path, maxFile)
	}
	f, err := Parse(path, data)
	if err != nil {
		return nil, err
	}
	if err := checkMode(f, data); err != nil {
		return nil, err
	}
	return f, nil
}

// Parse decodes and checks the profiles in data; path names the file in errors.
func Parse(path string, data []byte) (*File, error) {
	profiles := map[string]*Profile{}
	dec := toml.NewDecoder(bytes.NewReader(data)).DisallowUnknownFields()
	if err := dec.Decode(&profiles); err != nil {
		return nil, decodeError(path, err)
	}
	f := &File{Path: path, Profiles: profiles}
	names := make([]string, 0, len(profiles))
	for n := range profiles {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		p := profiles[n]
		if p == nil {
			return nil, fmt.Errorf("%s: profile %q is not a table", path, n)
		}
		p.Name = n
		if !validName.MatchString(n) {
			return nil, fmt.Errorf("%s:%d: profile name %q: use letters, digits, '.', '_' and '-'", path, lineOf(data, n, ""), n)
		}
		if err := p.check(); err != nil {
			var ke *keyError
			if errors.As(err, &ke) {
				return nil, fmt.Errorf("%s:%d: %s.%s: %w", path, lineOf(data, n, ke.key), n, ke.key, ke.err)
			}
			return nil, fmt.Errorf("%s: profile %s: %w", path, n, err)
		}
	}
	return f, nil
}

// decodeError names the file, the line and the key of a decoding error.
func decodeError(path string, err error) error {
	var strict *toml.StrictMissingError
	if errors.As(err, &strict) && len(strict.Errors) > 0 {
		var errs []error
		for i := range strict.Errors {
			de := &strict.Errors[i]
			row, _ := de.Position()
			errs = append(errs, fmt.Errorf("%s:%d: unknown key %s", path, row, strings.Join(de.Key(), ".")))
		}
		return errors.Join(errs...)
	}
	var de *toml.DecodeError
	if errors.As(err, &de) {
		row, _ := de.Position()
		if k := de.Key(); len(k) > 0 {
			return fmt.Errorf("%s:%d: key %s: %s", path, row, strings.Join(k, "."), de.Error())
		}
		return fmt.Errorf("%s:%d: %s", path, row, de.Error())
	}
	return fmt.Errorf("%s: %w", path, err)
}

// keyError is a check's complaint about one key of a profile.
type keyError struct {
	key string // dotted, below the profile's table
	err error
}

func (e *keyError) Error() string { return e.key + ": " + e.err.Error() }
func (e *keyError) Unwrap() error { return e.err }

func keyErr(key, format string, args ...any) error {
	return &keyError{key: key, err: fmt.Errorf(format, args...)}
}

// lineOf finds the line of key in the table of profile name (key "a.b": key b of the
// subtable a), or of the profile's header when key is empty; 0 when not found. The
// decoder reports lines only for what it cannot decode, so checks of values find
// their line here.
func lineOf(data []byte, name, key string) int {
	table, leaf := name, key
	if i := strings.LastIndexByte(key, '.'); i >= 0 {
		table, leaf = name+"."+key[:i], key[i+1:]
	}
	current := ""
	for i, line := range strings.Split(string(data), "\n") {
		line = strings.TrimSpace(line)
		if strings.HasPrefix(line, "[") {
			current = strings.Trim(line, "[] \t")
			current = strings.NewReplacer(`"`, "", " .", ".", ". ", ".").Replace(current)
			if key == "" && current == name {
				return i + 1
			}
			continue
		}
		k, _, ok := strings.Cut(line, "=")
		if ok && current == table && strings.Trim(strings.TrimSpace(k), `"`) == leaf {
			return i + 1
		}
	}
	return 0
}

// secretKeys are the keys whose value is a secret; a file holding one must be mode
// 0600 or stricter.
func (p *Profile) secretKeys() []string {
	var out []string
	if p.Password != "" {
		out = append(out, "password")
	}
	for k := range p.Env {
		u := strings.ToUpper(k)
		if strings.Contains(u, "SECRET") || strings.Contains(u, "PASSWORD") || strings.Contains(u, "TOKEN") {
			out = append(out, "env."+k)
		}
	}
	sort.Strings(out)
	return out
}

// checkMode refuses a file that holds a secret and that group or others may read.
func checkMode(f *File, data []byte) error {
	for _, n := range sortedNames(f) {
		keys := f.Profiles[n].secretKeys()
		if len(keys) == 0 {
			continue
		}
		fi, err := os.Stat(f.Path)
		if err != nil {
			return fmt.Errorf("profile file: %w", err)
		}
		if mode := fi.Mode().Perm(); mode&0o077 != 0 {
			return fmt.Errorf("%s:%d: %s.%s: the file holds a secret but its mode is %04o, so others may read it: "+
				"run 'chmod 600 %s', or use password-file or password-command", f.Path, lineOf(data, n, keys[0]), n, keys[0], mode, f.Path)
		}
	}
	return nil
}

func sortedNames(f *File) []string {
	names := make([]string, 0, len(f.Profiles))
	for n := range f.Profiles {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}
