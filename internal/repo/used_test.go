package repo

import (
	"context"
	"fmt"
	"testing"

	"github.com/cairn-backup/cairn/manifest"
	"github.com/cairn-backup/cairn/remote/remotetest"
)

// A large directory is stored as a node listing its pieces; the pieces are in use as
// much as the node. (Prune once counted the node alone, and deleted the packs of the
// pieces under a kept snapshot: found by the simulated year of backup/prune.)
func TestUsedBlobsCountsThePiecesOfALargeDirectory(t *testing.T) {
	ctx := context.Background()
	st := remotetest.NewMem()
	opts := testOptions(t, "pw")
	r := initRepo(t, st, opts)
	entries := make([]manifest.Entry, 20000) // a piece ends after one entry in 4096, on average
	for i := range entries {
		entries[i] = manifest.Entry{Name: fmt.Sprintf("l%05d", i), Type: manifest.Symlink, Mode: 0o777, Target: "t"}
	}
	w := r.NewWriter(ctx, WriterOptions{})
	root, tree, err := manifest.WriteDir(ctx, w, entries)
	if err != nil {
		t.Fatal(err)
	}
	if err := w.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	back, err := Open(ctx, st, opts)
	if err != nil {
		t.Fatal(err)
	}
	if err := back.LoadIndex(ctx); err != nil {
		t.Fatal(err)
	}
	b, err := back.LoadTree(ctx, tree)
	if err != nil {
		t.Fatal(err)
	}
	node, err := manifest.DecodeNode(b)
	if err != nil {
		t.Fatal(err)
	}
	if len(node.Pieces) < 2 {
		t.Fatalf("the directory was stored in %d pieces; the test needs more entries", len(node.Pieces))
	}
	used, err := back.UsedBlobs(ctx, []Snapshot{{Snapshot: &manifest.Snapshot{Tree: tree, Root: root}}})
	if err != nil {
		t.Fatal(err)
	}
	if !used[BlobID{TreeBlob, tree}] {
		t.Error("the directory's node is not in use")
	}
	for i, p := range node.Pieces {
		if !used[BlobID{TreeBlob, p}] {
			t.Errorf("piece %d of %d (%s) is not in use", i+1, len(node.Pieces), p.Short())
		}
	}
	if len(used) != 1+len(node.Pieces) {
		t.Errorf("%d blobs in use, want the node and its %d pieces", len(used), len(node.Pieces))
	}
}
