// Command cairn is an incremental, encrypted, deduplicating backup tool.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"

	"github.com/cairn-backup/cairn/backup/archive"
	"github.com/cairn-backup/cairn/backup/job"
	"github.com/cairn-backup/cairn/backup/mount"
	"github.com/cairn-backup/cairn/backup/restore"
	"github.com/cairn-backup/cairn/backup/verify"
	"github.com/cairn-backup/cairn/internal/repo"
	"github.com/cairn-backup/cairn/manifest"
	"github.com/cairn-backup/cairn/remote"
)

// Exit codes are part of the interface (docs/cli.md); they are decided here and
// nowhere else.
const (
	exitOK          = 0
	exitFatal       = 1
	exitPartial     = 3
	exitDamage      = 4 // verify found damage, or a proof does not verify
	exitNoRepo      = 10
	exitLocked      = 11 // another run of a job's profile holds its lock
	exitWrongPass   = 12
	exitInterrupted = 130
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	// The first signal asks the command to stop and keep what it did; a second one,
	// with the default action restored, ends cairn at once.
	go func() {
		<-ctx.Done()
		stop()
	}()
	stopProfile := startProfile()
	root := newRootCmd()
	err := root.ExecuteContext(ctx)
	stopProfile()
	interrupted := ctx.Err() != nil
	stop()
	code := exitCode(err, interrupted)
	asJSON, _ := root.PersistentFlags().GetBool("json")
	reportExit(os.Stderr, asJSON || jsonAsked(os.Args[1:]), code, err)
	os.Exit(code)
}

// jsonAsked reports whether --json is among args: an unknown command or a bad flag
// stops cobra before it parses the flags, and the error must still be JSON.
func jsonAsked(args []string) bool {
	for _, a := range args {
		switch a {
		case "--":
			return false
		case "--json", "--json=true":
			return true
		}
	}
	return false
}

func exitCode(err error, interrupted bool) int {
	var je *jobExit
	switch {
	case err == nil:
		return exitOK
	case errors.As(err, &je):
		return je.code // the job's own exit code, decided below for each of its steps
	case errors.Is(err, mount.ErrBusy):
		return exitFatal // a stop was asked for, but the mount is still there: say so
	case interrupted:
		return exitInterrupted
	case errors.Is(err, archive.ErrPartial), errors.Is(err, restore.ErrPartial), errors.Is(err, verify.ErrPartial):
		return exitPartial
	case errors.Is(err, verify.ErrDamage), errors.Is(err, manifest.ErrProof):
		return exitDamage
	case errors.Is(err, repo.ErrNoRepository):
		return exitNoRepo
	case errors.Is(err, repo.ErrWrongPassword):
		return exitWrongPass
	case errors.Is(err, job.ErrBusy):
		return exitLocked
	}
	return exitFatal
}

// exitError is what --json prints on stderr when cairn exits with another code than
// 0, in restic's form.
type exitError struct {
	MessageType string `json:"message_type"` // "exit_error"
	Code        int    `json:"code"`
	Message     string `json:"message"`
}

// reportExit says once, on w, why cairn exits with code: a line of text, or under
// --json one exit_error object. A partial run has already listed what it missed, so
// its text line is left out.
func reportExit(w io.Writer, asJSON bool, code int, err error) {
	if code == exitOK {
		return
	}
	msg := fmt.Sprint(err)
	if errors.Is(err, remote.ErrFull) {
		msg = "repository full: " + msg // the storage's own words follow: no space, a quota
	}
	if code == exitInterrupted {
		// "context canceled" says nothing to a person who pressed Ctrl-C.
		msg = "interrupted; run the command again to finish (what was done is kept)"
	}
	switch {
	case asJSON:
		_ = json.NewEncoder(w).Encode(exitError{MessageType: "exit_error", Code: code, Message: msg})
	case code != exitPartial:
		fmt.Fprintf(w, "cairn: %s\n", msg)
	}
}
