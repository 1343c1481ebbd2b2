package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
)

// stdinSource is what --stdin and --stdin-from-command back up: the stream, and a
// close that ends the command (if any) when the backup stops before reading it all.
type stdinSource struct {
	rd    io.Reader
	close func()
}

// openStdin returns the stream to back up: standard input, or the standard output of
// the command args. The command's standard error passes through; a command that exits
// non-zero fails the read at its end, so the backup makes no snapshot.
func openStdin(ctx context.Context, fromCommand bool, args []string) (*stdinSource, error) {
	if !fromCommand {
		if len(args) > 0 {
			return nil, errors.New("--stdin takes no paths (to back up a command's output, use --stdin-from-command -- CMD ARGS)")
		}
		return &stdinSource{rd: os.Stdin, close: func() {}}, nil
	}
	if len(args) == 0 {
		return nil, errors.New("--stdin-from-command needs a command: backup --stdin-from-command -- CMD [ARGS...]")
	}
	cmd := exec.CommandContext(ctx, args[0], args[1:]...) //nolint:gosec // running the user's command is the point
	cmd.Stdin, cmd.Stderr = os.Stdin, os.Stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start %s: %w", args[0], err)
	}
	c := &commandReader{cmd: cmd, out: out, name: args[0]}
	return &stdinSource{rd: c, close: c.stop}, nil
}

// commandReader reads a command's output and, at its end, the command's exit status.
type commandReader struct {
	cmd    *exec.Cmd
	out    io.ReadCloser
	name   string
	waited bool
	end    error // io.EOF, or the command's failure, once its output ended
}

func (c *commandReader) Read(p []byte) (int, error) {
	if c.end != nil {
		return 0, c.end // read again after the end: the pipe is closed by now
	}
	n, err := c.out.Read(p)
	if err != io.EOF {
		return n, err
	}
	c.waited, c.end = true, io.EOF
	if werr := c.cmd.Wait(); werr != nil {
		c.end = fmt.Errorf("command %s failed: %w", c.name, werr)
	}
	return n, c.end
}

// stop ends a command whose output was not read to its end.
func (c *commandReader) stop() {
	if c.waited {
		return
	}
	c.waited = true
	_ = c.cmd.Process.Kill()
	_ = c.out.Close()
	_ = c.cmd.Wait()
}
