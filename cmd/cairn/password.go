package main

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"

	"golang.org/x/term"
)

const maxPasswordFile = 4 << 10

// password returns the repository password: --password-file (CAIRN_PASSWORD_FILE),
// --password-command (CAIRN_PASSWORD_COMMAND), CAIRN_PASSWORD, then a prompt when stdin
// is a terminal. It is never echoed or logged.
func (g *globals) password(prompt string) ([]byte, error) {
	return g.passwordFrom(prompt, false)
}

// passwordFrom tries the sources in order; confirm asks twice at a prompt.
func (g *globals) passwordFrom(prompt string, confirm bool) ([]byte, error) {
	if pw, ok, err := g.passwordFromSource(); ok || err != nil {
		return pw, err
	}
	name := "CAIRN_PASSWORD"
	if g.passwordVar != "" {
		name = g.passwordVar // another repository's (copy's source)
	}
	if pw, ok := os.LookupEnv(name); ok {
		return envPassword(name, pw)
	}
	return promptPassword(prompt, confirm)
}

// newPassword returns a password for a new key: --new-password-file, CAIRN_NEW_PASSWORD,
// or a prompt asked twice.
func newPassword(file string) ([]byte, error) {
	if file != "" {
		return readPasswordFile(file)
	}
	if pw, ok := os.LookupEnv("CAIRN_NEW_PASSWORD"); ok {
		return envPassword("CAIRN_NEW_PASSWORD", pw)
	}
	if err := newPasswordGiven(file); err != nil {
		return nil, err
	}
	return promptPassword("enter new password: ", true)
}

// newPasswordGiven fails when no new password can be had: no file, no variable, and
// no terminal to ask at. key add checks it before it opens the repository.
func newPasswordGiven(file string) error {
	if _, ok := os.LookupEnv("CAIRN_NEW_PASSWORD"); file == "" && !ok && !term.IsTerminal(int(os.Stdin.Fd())) {
		return errors.New("no new password: give --new-password-file FILE or set CAIRN_NEW_PASSWORD")
	}
	return nil
}

// envPassword refuses a variable that is set but empty: no key has an empty password,
// so it would only be reported as a wrong one.
func envPassword(name, pw string) ([]byte, error) {
	if pw == "" {
		return nil, fmt.Errorf("%s is set but empty: an empty password is not allowed", name)
	}
	return []byte(pw), nil
}

// passwordFromSource reads the password from the file or the command given, if any.
func (g *globals) passwordFromSource() ([]byte, bool, error) {
	switch {
	case g.passwordInline != nil:
		return append([]byte(nil), g.passwordInline...), true, nil
	case g.passwordFile != "" && g.passwordCmd != "":
		return nil, true, errors.New("give --password-file or --password-command, not both")
	case g.passwordFile != "":
		pw, err := readPasswordFile(g.passwordFile)
		return pw, true, err
	case g.passwordCmd != "":
		pw, err := runPasswordCommand(g.passwordCmd)
		return pw, true, err
	}
	return nil, false, nil
}

// runPasswordCommand runs command with sh -c, as a secret manager's CLI is usually
// given ("pass show backup"), and takes its output, one trailing newline dropped. Its
// stderr goes to ours, so that it can ask for its own unlock; its output is never shown.
func runPasswordCommand(command string) ([]byte, error) {
	cmd := exec.Command("sh", "-c", command)
	cmd.Stdin, cmd.Stderr = os.Stdin, os.Stderr
	out, err := cmd.Output()
	if err != nil {
		return nil, fmt.Errorf("password command failed: %w", err)
	}
	return trimPassword(out, "the password command's output")
}

func readPasswordFile(path string) ([]byte, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read password file: %w", err)
	}
	return trimPassword(data, "password file "+path)
}

// trimPassword drops one trailing newline (and carriage return) and refuses an empty
// password; what names the source for the error.
func trimPassword(data []byte, what string) ([]byte, error) {
	if len(data) > maxPasswordFile {
		return nil, fmt.Errorf("%s is larger than %d bytes", what, maxPasswordFile)
	}
	data = bytes.TrimSuffix(data, []byte("\n"))
	data = bytes.TrimSuffix(data, []byte("\r"))
	if len(data) == 0 {
		return nil, fmt.Errorf("%s is empty", what)
	}
	return data, nil
}

func promptPassword(prompt string, confirm bool) ([]byte, error) {
	fd := int(os.Stdin.Fd())
	if !term.IsTerminal(fd) {
		return nil, errors.New("no password: set CAIRN_PASSWORD or CAIRN_PASSWORD_FILE, or use --password-file")
	}
	fmt.Fprint(os.Stderr, prompt)
	pw, err := term.ReadPassword(fd)
	fmt.Fprintln(os.Stderr)
	if err != nil {
		return nil, fmt.Errorf("read password: %w", err)
	}
	if len(pw) == 0 {
		return nil, errors.New("empty password")
	}
	if confirm {
		fmt.Fprint(os.Stderr, "enter the password again: ")
		again, err := term.ReadPassword(fd)
		fmt.Fprintln(os.Stderr)
		if err != nil {
			return nil, fmt.Errorf("read password: %w", err)
		}
		if !bytes.Equal(pw, again) {
			return nil, errors.New("the passwords do not match")
		}
	}
	return pw, nil
}
