package repo

import (
	"context"
	"sync"
)

var sessions sync.Map // *Repo → *Writer

// session returns the one write session the tests of r share, as a run holds one.
func session(r *Repo) *Writer {
	if w, ok := sessions.Load(r); ok {
		return w.(*Writer)
	}
	w, _ := sessions.LoadOrStore(r, r.NewWriter(context.Background(), WriterOptions{}))
	return w.(*Writer)
}
