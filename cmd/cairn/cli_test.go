package main

import (
	"encoding/json"

	"github.com/cairn-backup/cairn/internal/clitest"
	"github.com/cairn-backup/cairn/internal/repo"
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
	if cairnBin, err = clitest.Build(dir, "cairn"); err != nil {
		panic(err)
	}
	code := s3test.Main(m) // a real MinIO for the S3 tests, stopped at the end
	os.RemoveAll(dir)
	os.Exit(code)
}

// cli is one user's environment: a repository, a password, state and cache folders.
type cli = clitest.CLI

type result = clitest.Result

func newCLI(t *testing.T) *cli { return clitest.New(t, cairnBin) }

func newS3CLI(t *testing.T, srv *s3test.Server, endpoint string) *cli {
	return clitest.NewS3(t, cairnBin, srv, endpoint)
}

func runCmd(t *testing.T, cmd *exec.Cmd) result { return clitest.RunCmd(t, cmd) }

func openForTest(t *testing.T, c *cli) *repo.Repo { return c.Open(t) }

func checkConsistent(t *testing.T, c *cli) { c.CheckConsistent(t) }

// The tree helpers of every CLI test.
var (
	writeFiles     = clitest.WriteFiles
	bigRandomFiles = clitest.BigRandomFiles
	treeState      = clitest.TreeState
	stateOf        = clitest.StateOf
	sameState      = clitest.SameState
)

func TestInitKeyListAndExitCodes(t *testing.T) {
	c := newCLI(t)
	if r := c.Run("key", "list"); r.Code != exitNoRepo {
		t.Fatalf("key list without a repository: exit %d, want %d (%s)", r.Code, exitNoRepo, r.Stderr)
	}
	c.OK("init")
	if out := c.OK("key", "list"); !strings.Contains(out, "*") {
		t.Fatalf("key list shows no current key:\n%s", out)
	}
	c.Env = append(c.Env, "CAIRN_PASSWORD=wrong")
	r := c.Run("key", "list")
	if r.Code != exitWrongPass || strings.Count(strings.TrimSpace(r.Stderr), "\n") != 0 || !strings.Contains(r.Stderr, "wrong password") {
		t.Fatalf("wrong password: exit %d, stderr %q; want exit %d and one line", r.Code, r.Stderr, exitWrongPass)
	}
	// Set but empty is a mistake in the job's setup, not a wrong password.
	c.Env = append(c.Env, "CAIRN_PASSWORD=")
	if r := c.Run("key", "list"); r.Code != exitFatal || !strings.Contains(r.Stderr, "CAIRN_PASSWORD is set but empty") {
		t.Fatalf("empty password: exit %d, stderr %q; want exit %d naming CAIRN_PASSWORD", r.Code, r.Stderr, exitFatal)
	}
}

func TestKeyAddPasswdRemove(t *testing.T) {
	c := newCLI(t)
	c.OK("init")
	c.Env = append(c.Env, "CAIRN_NEW_PASSWORD=second")
	c.OK("key", "add")
	second := append(append([]string{}, c.Env...), "CAIRN_PASSWORD=second")
	c2 := &cli{T: t, Bin: cairnBin, Repo: c.Repo, Env: second}
	out := c2.OK("key", "list")
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
	c2.OK("key", "remove", first)
	if r := c.Run("key", "list"); r.Code != exitWrongPass {
		t.Fatalf("removed key still opens the repository: exit %d", r.Code)
	}
	if r := c2.Run("key", "remove", strings.Fields(strings.Split(c2.OK("key", "list"), "\n")[1])[0][1:]); r.Code == 0 {
		t.Fatal("removing the key in use succeeded")
	}
}

// init with an empty password leaves nothing behind, and init -q says one line.
func TestInitEmptyPasswordAndQuiet(t *testing.T) {
	c := newCLI(t)
	good := c.Env
	c.Env = append(c.Env, "CAIRN_PASSWORD=")
	if r := c.Run("init"); r.Code != exitFatal || !strings.Contains(r.Stderr, "empty") {
		t.Fatalf("init with an empty password: exit %d, %s", r.Code, r.Stderr)
	}
	if _, err := os.Lstat(c.Repo); !os.IsNotExist(err) {
		t.Fatalf("a refused init left %s behind: %v", c.Repo, err)
	}
	c.Env = good
	if out := c.OK("init", "-q"); strings.Count(strings.TrimSpace(out), "\n") != 0 {
		t.Fatalf("init -q printed more than one line:\n%s", out)
	}
}

// --password-command (or CAIRN_PASSWORD_COMMAND) reads the password from a command's
// output, as restic's does; a failing command or one with no output is an error, and
// giving both a file and a command is refused.
func TestPasswordCommand(t *testing.T) {
	c := newCLI(t)
	c.OK("init")
	var env []string
	for _, kv := range c.Env {
		if !strings.HasPrefix(kv, "CAIRN_PASSWORD=") {
			env = append(env, kv)
		}
	}
	c.Env = env
	c.OK("snapshots", "--password-command", "printf 'correct horse\\n'")
	c.Env = append(env, "CAIRN_PASSWORD_COMMAND=echo correct horse")
	c.OK("snapshots")
	c.Env = env
	if r := c.Run("snapshots", "--password-command", "echo wrong"); r.Code != exitWrongPass {
		t.Fatalf("wrong password from a command: exit %d, %s", r.Code, r.Stderr)
	}
	for cmd, want := range map[string]string{"exit 3": "password command failed", "true": "output is empty"} {
		if r := c.Run("snapshots", "--password-command", cmd); r.Code != exitFatal || !strings.Contains(r.Stderr, want) {
			t.Errorf("--password-command %q: exit %d, %q; want %q", cmd, r.Code, r.Stderr, want)
		}
	}
	pwFile := filepath.Join(t.TempDir(), "pw")
	if err := os.WriteFile(pwFile, []byte("correct horse\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if r := c.Run("snapshots", "--password-file", pwFile, "--password-command", "true"); r.Code != exitFatal || !strings.Contains(r.Stderr, "not both") {
		t.Errorf("file and command: exit %d, %s", r.Code, r.Stderr)
	}
}

// snapshots --latest N shows the newest N snapshots of each host and set of paths.
func TestSnapshotsLatest(t *testing.T) {
	c := newCLI(t)
	c.OK("init")
	a, b := t.TempDir(), t.TempDir()
	writeFiles(t, a, map[string]string{"f": "1"})
	writeFiles(t, b, map[string]string{"g": "1"})
	for i := range 3 {
		writeFiles(t, a, map[string]string{"f": strings.Repeat("x", i+2)})
		c.OK("backup", a)
	}
	c.OK("backup", b)
	for n, want := range map[string]int{"1": 2, "2": 3, "5": 4} {
		var got []snapshotJSON
		if err := json.Unmarshal([]byte(c.OK("snapshots", "--latest", n, "--json")), &got); err != nil {
			t.Fatal(err)
		}
		if len(got) != want || got[len(got)-1].Paths[0] != b {
			t.Errorf("--latest %s: %d snapshots (%+v), want %d ending with %s", n, len(got), got, want, b)
		}
	}
}
