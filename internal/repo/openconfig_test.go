package repo

import (
	"context"
	"errors"
	"testing"

	"github.com/cairn-backup/cairn/remote"
	"github.com/cairn-backup/cairn/remote/remotetest"
)

// A "not found" answer to the config read is "no repository" (exit 10) only where no
// key file is either: one transient 404 is read through, and a config lost beside key
// files is damage, never "no repository".
func TestOpenConfigNotFound(t *testing.T) {
	ctx := context.Background()
	mem := remotetest.NewMem()
	initRepo(t, mem, testOptions(t, "pw"))
	st := remotetest.NewFaulty(mem)
	st.Add(remotetest.Fault{Op: remotetest.OpGet, Type: remote.Config, Nth: 1, Kind: remotetest.Fail, Err: remote.ErrNotFound})
	if _, err := Open(ctx, st, testOptions(t, "pw")); err != nil {
		t.Fatalf("open with one 404 on the config: %v", err)
	}
	st.Verify(t)
	if err := mem.Delete(ctx, remote.Handle{Type: remote.Config}); err != nil {
		t.Fatal(err)
	}
	_, err := Open(ctx, mem, testOptions(t, "pw"))
	if errors.Is(err, ErrNoRepository) || !errors.Is(err, ErrCorrupt) {
		t.Fatalf("config lost beside key files: err = %v, want ErrCorrupt", err)
	}
}
