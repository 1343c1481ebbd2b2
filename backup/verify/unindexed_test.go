package verify

import (
	"context"
	"fmt"
	"testing"

	"github.com/cairn-backup/cairn/remote"
)

// A snapshot whose blobs no index segment names (the segment that listed them is gone,
// not damaged) is damage: verify names the blobs and the snapshot.
func TestSnapshotBlobsMissingFromIndex(t *testing.T) {
	t.Parallel()
	for i := range 3 {
		t.Run(fmt.Sprint(i), func(t *testing.T) {
			e := damaged(t)
			var names []string
			_ = e.store.List(context.Background(), remote.Index, func(i remote.Info) error { names = append(names, i.Name); return nil })
			t.Logf("%d segments", len(names))
			e.del(remote.Handle{Type: remote.Index, Name: names[i%len(names)]})
			rep, err := e.verify(Options{})
			t.Logf("err %v problems %+v bad %d affected %d", err, rep.Problems, len(rep.BadBlobs), len(rep.Affected))
			if !rep.Damaged() || len(rep.Affected) == 0 {
				t.Fatalf("blobs missing from the index affect nothing: %v %+v", err, rep)
			}
		})
	}
}
