package job

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"time"
)

// hooks runs the command lines of kind in order and reports whether the job may go
// on: a failing hook fails the job unless the profile says hook-failure = "continue".
// After a failed hook of a kind, the others of that kind do not run.
func (j *run) hooks(ctx context.Context, kind string, lines []string) bool {
	for _, line := range lines {
		err := j.step(kind+"-hook", func() error { return j.hook(ctx, kind, line) })
		if err == nil {
			continue
		}
		// An interrupted job stops here whatever hook-failure says; it exits 130.
		if j.p.HooksFatal || ctx.Err() != nil {
			j.fail(err, j.cfg.Code(err))
			return false
		}
		return true
	}
	return true
}

// hook runs one command line with sh -c in its own process group, killed whole at
// the timeout; its output goes to the log as it comes, and its last lines into the
// error.
func (j *run) hook(ctx context.Context, kind, line string) error {
	ctx, cancel := context.WithTimeout(ctx, j.p.HookTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, "sh", "-c", line)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	cmd.WaitDelay = 5 * time.Second
	tail := &tailWriter{max: 1024}
	cmd.Stdout = io.MultiWriter(j.cfg.Log, tail)
	cmd.Stderr = cmd.Stdout
	cmd.Env = j.environ(kind)
	err := cmd.Run()
	if err == nil {
		return nil
	}
	switch {
	case errors.Is(ctx.Err(), context.DeadlineExceeded):
		err = fmt.Errorf("timed out after %s", j.p.HookTimeout)
	case ctx.Err() != nil:
		err = fmt.Errorf("stopped: %w", ctx.Err())
	}
	if out := tail.String(); out != "" {
		return fmt.Errorf("%s hook %q: %w; output: %s", kind, line, err, out)
	}
	return fmt.Errorf("%s hook %q: %w", kind, line, err)
}

// tailWriter keeps the last max bytes written to it.
type tailWriter struct {
	mu  sync.Mutex
	max int
	buf []byte
}

func (t *tailWriter) Write(p []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.buf = append(t.buf, p...)
	if over := len(t.buf) - t.max; over > 0 {
		t.buf = t.buf[over:]
	}
	return len(p), nil
}

// String is the kept output, its lines joined by " | ".
func (t *tailWriter) String() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	lines := strings.FieldsFunc(string(t.buf), func(r rune) bool { return r == '\n' })
	return strings.Join(lines, " | ")
}
