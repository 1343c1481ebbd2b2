// Command cairn is an incremental, encrypted, deduplicating backup tool.
package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/cairn-backup/cairn/backup/restore"
	"github.com/cairn-backup/cairn/backup/verify"
	"github.com/cairn-backup/cairn/internal/repo"
	"github.com/cairn-backup/cairn/manifest"
)

// Exit codes are part of the interface (docs/cli.md); they are decided here and
// nowhere else.
const (
	exitOK          = 0
	exitFatal       = 1
	exitPartial     = 3
	exitDamage      = 4 // verify found damage, or a proof does not verify
	exitNoRepo      = 10
	exitLocked      = 11
	exitWrongPass   = 12
	exitInterrupted = 130
)

// errPartial marks a run that completed but could not read some sources.
var errPartial = errors.New("some source files could not be read")

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	stopProfile := startProfile()
	err := newRootCmd().ExecuteContext(ctx)
	stopProfile()
	interrupted := ctx.Err() != nil
	stop()
	code := exitCode(err, interrupted)
	switch {
	case code == exitInterrupted:
		// "context canceled" says nothing to a person who pressed Ctrl-C.
		fmt.Fprintln(os.Stderr, "cairn: interrupted; run the command again to finish (what was done is kept)")
	case err != nil && code != exitPartial:
		fmt.Fprintf(os.Stderr, "cairn: %v\n", err)
	}
	os.Exit(code)
}

func exitCode(err error, interrupted bool) int {
	switch {
	case err == nil:
		return exitOK
	case interrupted:
		return exitInterrupted
	case errors.Is(err, errPartial):
		return exitPartial
	case errors.Is(err, restore.ErrPartial):
		return exitPartial
	case errors.Is(err, verify.ErrDamage), errors.Is(err, manifest.ErrProof):
		return exitDamage
	case errors.Is(err, repo.ErrNoRepository):
		return exitNoRepo
	case errors.Is(err, repo.ErrWrongPassword):
		return exitWrongPass
	}
	return exitFatal
}
