package clitest

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/cairn-backup/cairn/remote/s3/s3test"
)

// Password is the password of every test user's repository.
const Password = "correct horse"

// Build builds cmd/cairn into dir (with the build tags given, such as "crashpoints")
// and returns the binary's path.
func Build(dir, name string, tags ...string) (string, error) {
	bin := filepath.Join(dir, name)
	args := []string{"build", "-o", bin}
	if len(tags) > 0 {
		args = append(args, "-tags", strings.Join(tags, ","))
	}
	build := exec.Command("go", append(args, "github.com/cairn-backup/cairn/cmd/cairn")...)
	build.Stderr = os.Stderr
	if err := build.Run(); err != nil {
		return "", fmt.Errorf("build cairn %v: %w", tags, err)
	}
	return bin, nil
}

// CLI is one user's environment: a repository, a password, state and cache folders.
type CLI struct {
	T      *testing.T
	Bin    string // the cairn binary this user runs
	Repo   string // the location the commands use
	Direct string // for S3 behind a fault proxy: the location without the proxy
	Env    []string
}

// New is a user with a local repository (not yet created) in a fresh folder.
func New(t *testing.T, bin string) *CLI {
	home := t.TempDir()
	c := &CLI{T: t, Bin: bin, Repo: filepath.Join(home, "repo")}
	c.Env = append(os.Environ(), "CAIRN_REPO="+c.Repo, "CAIRN_PASSWORD="+Password,
		"XDG_STATE_HOME="+filepath.Join(home, "state"), "XDG_CACHE_HOME="+filepath.Join(home, "cache"), "TMPDIR="+filepath.Join(home, "tmp"))
	if err := os.Mkdir(filepath.Join(home, "tmp"), 0o700); err != nil {
		t.Fatal(err)
	}
	return c
}

// NewS3 is a user whose repository is a fresh prefix in a bucket of the test MinIO,
// reached through endpoint (MinIO itself, or a fault proxy in front of it).
func NewS3(t *testing.T, bin string, srv *s3test.Server, endpoint string) *CLI {
	c := New(t, bin)
	path := fmt.Sprintf("cairn-cli/%s-%d", strings.ToLower(strings.ReplaceAll(t.Name(), "/", "-")), rand.Uint32())
	c.Repo = "s3:" + endpoint + "/" + path
	c.Direct = "s3:" + srv.Endpoint + "/" + path
	c.Env = append(c.Env, "CAIRN_REPO="+c.Repo, "AWS_ACCESS_KEY_ID="+srv.AccessKey, "AWS_SECRET_ACCESS_KEY="+srv.SecretKey)
	return c
}

// Through is the same user reaching the same repository through another endpoint (a
// fault proxy) in place of from.
func (c *CLI) Through(from, to string) *CLI {
	u := *c
	u.Repo = strings.Replace(c.Repo, from, to, 1)
	u.Env = append(append([]string{}, c.Env...), "CAIRN_REPO="+u.Repo)
	return &u
}

// Result is what a command printed and its exit code.
type Result struct {
	Stdout, Stderr string
	Code           int
}

// Cmd is the command cairn args in the user's environment, not started.
func (c *CLI) Cmd(args ...string) *exec.Cmd {
	cmd := exec.Command(c.Bin, args...)
	cmd.Env = c.Env
	return cmd
}

// Run runs cairn args and returns what it printed and its exit code.
func (c *CLI) Run(args ...string) Result {
	c.T.Helper()
	return RunCmd(c.T, c.Cmd(args...))
}

// RunCmd runs cmd to its end; only a command that could not start fails t.
func RunCmd(t testing.TB, cmd *exec.Cmd) Result {
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
	return Result{out.String(), errb.String(), code}
}

// OK runs a command that must succeed and returns its standard output.
func (c *CLI) OK(args ...string) string {
	c.T.Helper()
	r := c.Run(args...)
	if r.Code != 0 {
		c.T.Fatalf("cairn %s: exit %d\n%s%s", strings.Join(args, " "), r.Code, r.Stdout, r.Stderr)
	}
	return r.Stdout
}

// SnapshotIDs lists the ids of the repository's snapshots (snapshots --json with
// flags), oldest first.
func (c *CLI) SnapshotIDs(t testing.TB, flags ...string) []string {
	t.Helper()
	var snaps []struct {
		ID string `json:"id"`
	}
	if err := json.Unmarshal([]byte(c.OK(append([]string{"snapshots", "--json"}, flags...)...)), &snaps); err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, s := range snaps {
		ids = append(ids, s.ID)
	}
	return ids
}
