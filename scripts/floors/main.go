// Command floors measures what no backup tool can beat on this machine, for
// `scripts/bench limits`: the work cairn's backup, restore and verify cannot avoid,
// done with cairn's own packages and nothing else.
//
//	go run ./scripts/floors walk [-walkers 8] DIR...       lstat every entry, in parallel
//	go run ./scripts/floors pipeline [-compression fastest] DIR...
//	                                                      read, chunk, hash, compress, seal
//	go run ./scripts/floors verify REPO                   read, hash and open every pack
//
// Each prints one line "seconds S" (the work alone, without the process's start)
// after lines that say what it did; CAIRN_PASSWORD opens REPO.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"time"
)

func main() {
	if len(os.Args) < 2 {
		usage()
	}
	fs := flag.NewFlagSet(os.Args[1], flag.ExitOnError)
	var run func(ctx context.Context, args []string) ([]string, error)
	switch os.Args[1] {
	case "walk":
		walkers := fs.Int("walkers", 8, "directories listed at once (cairn's backup walks 8)")
		run = func(ctx context.Context, args []string) ([]string, error) { return walk(ctx, args, *walkers) }
	case "pipeline":
		level := fs.String("compression", "fastest", "compression level (cairn's default is fastest)")
		run = func(ctx context.Context, args []string) ([]string, error) { return pipeline(ctx, args, *level) }
	case "verify":
		run = verify
	default:
		usage()
	}
	_ = fs.Parse(os.Args[2:])
	if fs.NArg() == 0 {
		usage()
	}
	started = time.Now()
	lines, err := run(context.Background(), fs.Args())
	took := time.Since(started)
	if err != nil {
		fmt.Fprintln(os.Stderr, "floors:", err)
		os.Exit(1)
	}
	for _, l := range lines {
		fmt.Println(l)
	}
	fmt.Printf("seconds %.3f\n", took.Seconds())
}

func usage() {
	fmt.Fprintln(os.Stderr, "usage: floors walk|pipeline DIR... | floors verify REPO")
	os.Exit(2)
}

// started is when the measured work began; a command resets it after its setup
// (verify: after the key derivation that opens the repository).
var started time.Time

// errUsage is returned for arguments a command cannot take.
var errUsage = errors.New("bad arguments")
