package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/cairn-backup/cairn/remote/s3/s3test"
)

// The CLI tests run the real binary, built once, against real local repositories.
var cairnBin string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "cairn-cli-test")
	if err != nil {
		panic(err)
	}
	cairnBin = filepath.Join(dir, "cairn")
	build := exec.Command("go", "build", "-o", cairnBin, ".")
	build.Stderr = os.Stderr
	if err := build.Run(); err != nil {
		panic("build cairn: " + err.Error())
	}
	code := s3test.Main(m) // a real MinIO for the S3 tests, stopped at the end
	os.RemoveAll(dir)
	os.Exit(code)
}

// cli is one user's environment: a repository, a password, state and cache folders.
type cli struct {
	t      *testing.T
	repo   string
	direct string // for S3 behind a fault proxy: the location without the proxy
	env    []string
}

func newCLI(t *testing.T) *cli {
	home := t.TempDir()
	c := &cli{t: t, repo: filepath.Join(home, "repo")}
	c.env = append(os.Environ(), "CAIRN_REPO="+c.repo, "CAIRN_PASSWORD=correct horse",
		"XDG_STATE_HOME="+filepath.Join(home, "state"), "XDG_CACHE_HOME="+filepath.Join(home, "cache"), "TMPDIR="+filepath.Join(home, "tmp"))
	if err := os.Mkdir(filepath.Join(home, "tmp"), 0o700); err != nil {
		t.Fatal(err)
	}
	return c
}

type result struct {
	stdout, stderr string
	code           int
}

func (c *cli) cmd(args ...string) *exec.Cmd {
	cmd := exec.Command(cairnBin, args...)
	cmd.Env = c.env
	return cmd
}

func (c *cli) run(args ...string) result {
	c.t.Helper()
	return runCmd(c.t, c.cmd(args...))
}

func runCmd(t *testing.T, cmd *exec.Cmd) result {
	t.Helper()
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	code := 0
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	return result{out.String(), errb.String(), code}
}

// ok runs a command that must succeed.
func (c *cli) ok(args ...string) string {
	c.t.Helper()
	r := c.run(args...)
	if r.code != 0 {
		c.t.Fatalf("cairn %s: exit %d\n%s%s", strings.Join(args, " "), r.code, r.stdout, r.stderr)
	}
	return r.stdout
}

func TestInitKeyListAndExitCodes(t *testing.T) {
	c := newCLI(t)
	if r := c.run("key", "list"); r.code != exitNoRepo {
		t.Fatalf("key list without a repository: exit %d, want %d (%s)", r.code, exitNoRepo, r.stderr)
	}
	c.ok("init")
	if out := c.ok("key", "list"); !strings.Contains(out, "*") {
		t.Fatalf("key list shows no current key:\n%s", out)
	}
	c.env = append(c.env, "CAIRN_PASSWORD=wrong")
	r := c.run("key", "list")
	if r.code != exitWrongPass || strings.Count(strings.TrimSpace(r.stderr), "\n") != 0 || !strings.Contains(r.stderr, "wrong password") {
		t.Fatalf("wrong password: exit %d, stderr %q; want exit %d and one line", r.code, r.stderr, exitWrongPass)
	}
	// Set but empty is a mistake in the job's setup, not a wrong password.
	c.env = append(c.env, "CAIRN_PASSWORD=")
	if r := c.run("key", "list"); r.code != exitFatal || !strings.Contains(r.stderr, "CAIRN_PASSWORD is set but empty") {
		t.Fatalf("empty password: exit %d, stderr %q; want exit %d naming CAIRN_PASSWORD", r.code, r.stderr, exitFatal)
	}
}

func TestKeyAddPasswdRemove(t *testing.T) {
	c := newCLI(t)
	c.ok("init")
	c.env = append(c.env, "CAIRN_NEW_PASSWORD=second")
	c.ok("key", "add")
	second := append(append([]string{}, c.env...), "CAIRN_PASSWORD=second")
	c2 := &cli{t: t, repo: c.repo, env: second}
	out := c2.ok("key", "list")
	if strings.Count(out, "\n") != 3 {
		t.Fatalf("want two keys:\n%s", out)
	}
	// The first key is the one not marked current for the second password.
	var first string
	for _, line := range strings.Split(out, "\n")[1:] {
		if strings.HasPrefix(line, " ") && len(strings.Fields(line)) > 0 {
			first = strings.Fields(line)[0]
		}
	}
	c2.ok("key", "remove", first)
	if r := c.run("key", "list"); r.code != exitWrongPass {
		t.Fatalf("removed key still opens the repository: exit %d", r.code)
	}
	if r := c2.run("key", "remove", strings.Fields(strings.Split(c2.ok("key", "list"), "\n")[1])[0][1:]); r.code == 0 {
		t.Fatal("removing the key in use succeeded")
	}
}

// init with an empty password leaves nothing behind, and init -q says one line.
func TestInitEmptyPasswordAndQuiet(t *testing.T) {
	c := newCLI(t)
	good := c.env
	c.env = append(c.env, "CAIRN_PASSWORD=")
	if r := c.run("init"); r.code != exitFatal || !strings.Contains(r.stderr, "empty") {
		t.Fatalf("init with an empty password: exit %d, %s", r.code, r.stderr)
	}
	if _, err := os.Lstat(c.repo); !os.IsNotExist(err) {
		t.Fatalf("a refused init left %s behind: %v", c.repo, err)
	}
	c.env = good
	if out := c.ok("init", "-q"); strings.Count(strings.TrimSpace(out), "\n") != 0 {
		t.Fatalf("init -q printed more than one line:\n%s", out)
	}
}

// --password-command (or CAIRN_PASSWORD_COMMAND) reads the password from a command's
// output, as restic's does; a failing command or one with no output is an error, and
// giving both a file and a command is refused.
func TestPasswordCommand(t *testing.T) {
	c := newCLI(t)
	c.ok("init")
	var env []string
	for _, kv := range c.env {
		if !strings.HasPrefix(kv, "CAIRN_PASSWORD=") {
			env = append(env, kv)
		}
	}
	c.env = env
	c.ok("snapshots", "--password-command", "printf 'correct horse\\n'")
	c.env = append(env, "CAIRN_PASSWORD_COMMAND=echo correct horse")
	c.ok("snapshots")
	c.env = env
	if r := c.run("snapshots", "--password-command", "echo wrong"); r.code != exitWrongPass {
		t.Fatalf("wrong password from a command: exit %d, %s", r.code, r.stderr)
	}
	for cmd, want := range map[string]string{"exit 3": "password command failed", "true": "output is empty"} {
		if r := c.run("snapshots", "--password-command", cmd); r.code != exitFatal || !strings.Contains(r.stderr, want) {
			t.Errorf("--password-command %q: exit %d, %q; want %q", cmd, r.code, r.stderr, want)
		}
	}
	pwFile := filepath.Join(t.TempDir(), "pw")
	if err := os.WriteFile(pwFile, []byte("correct horse\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if r := c.run("snapshots", "--password-file", pwFile, "--password-command", "true"); r.code != exitFatal || !strings.Contains(r.stderr, "not both") {
		t.Errorf("file and command: exit %d, %s", r.code, r.stderr)
	}
}

// snapshots --latest N shows the newest N snapshots of each host and set of paths.
func TestSnapshotsLatest(t *testing.T) {
	c := newCLI(t)
	c.ok("init")
	a, b := t.TempDir(), t.TempDir()
	writeFiles(t, a, map[string]string{"f": "1"})
	writeFiles(t, b, map[string]string{"g": "1"})
	for i := range 3 {
		writeFiles(t, a, map[string]string{"f": strings.Repeat("x", i+2)})
		c.ok("backup", a)
	}
	c.ok("backup", b)
	for n, want := range map[string]int{"1": 2, "2": 3, "5": 4} {
		var got []snapshotJSON
		if err := json.Unmarshal([]byte(c.ok("snapshots", "--latest", n, "--json")), &got); err != nil {
			t.Fatal(err)
		}
		if len(got) != want || got[len(got)-1].Paths[0] != b {
			t.Errorf("--latest %s: %d snapshots (%+v), want %d ending with %s", n, len(got), got, want, b)
		}
	}
}
