package repo

import (
	"bytes"
	"context"
	"fmt"
	"sync"
	"testing"

	"github.com/cairn-backup/cairn/internal/digest"
	"github.com/cairn-backup/cairn/remote/remotetest"
)

// Two write sessions on one Repo (a backup and a repack) store at once: each has its
// own packs and uploads, a snapshot waits for both, and every blob is indexed after.
func TestWritersShareARepo(t *testing.T) {
	ctx := context.Background()
	st := remotetest.NewMem()
	opts := testOptions(t, "pw")
	r := initRepo(t, st, opts)
	ws := []*Writer{r.NewWriter(ctx, WriterOptions{Uploads: 1}), r.NewWriter(ctx, WriterOptions{Uploads: 3})}
	ids := make([][]digest.ID, len(ws))
	var wg sync.WaitGroup
	for i, w := range ws {
		for g := range 4 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for k := range 20 {
					// Half the blobs are the same in both sessions.
					b := bytes.Repeat([]byte(fmt.Sprintf("%d-%d-%d ", i*(k%2), g, k)), 200)
					id, _, err := w.SaveBlob(ctx, DataBlob, b)
					if err != nil {
						t.Error(err)
						return
					}
					if ok, err := w.Has(ctx, DataBlob, id); !ok || err != nil {
						t.Errorf("saved blob not held: %v %v", ok, err)
					}
					if i == 1 && g == 0 && k == 0 {
						ids[i] = append(ids[i], id)
					}
				}
			}()
		}
	}
	wg.Wait()
	if _, err := r.SaveSnapshot(ctx, []byte("{}")); err == nil {
		t.Fatal("a snapshot was saved while a session had blobs in flight")
	}
	for _, w := range ws {
		if err := w.Flush(ctx); err != nil {
			t.Fatal(err)
		}
	}
	back, err := Open(ctx, st, opts)
	if err != nil {
		t.Fatal(err)
	}
	if err := back.LoadIndex(ctx); err != nil {
		t.Fatal(err)
	}
	if st, _ := back.Stats(); st.DataBlobs != 120 {
		n := st.DataBlobs
		t.Fatalf("%d data blobs indexed, want 120 (80 distinct per session, 40 shared)", n)
	}
	for _, id := range ids[1] {
		if _, err := back.LoadBlob(ctx, DataBlob, id); err != nil {
			t.Fatal(err)
		}
	}
}
