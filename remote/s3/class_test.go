package s3_test

import (
	"testing"

	"github.com/cairn-backup/cairn/remote"
	"github.com/cairn-backup/cairn/remote/s3/s3test"
)

// TestStorageClass: --s3-storage-class reaches the server with every upload.
func TestStorageClass(t *testing.T) {
	srv := s3test.Need(t)
	opts := options(srv)
	opts.StorageClass = "REDUCED_REDUNDANCY"
	st := create(t, srv, opts)
	h := remote.Handle{Type: remote.Key, Name: "k1"}
	if err := st.Put(t.Context(), h, remote.Bytes([]byte("a key file"))); err != nil {
		t.Fatal(err)
	}
	if class, err := st.StorageClassOf(t.Context(), h); err != nil || class != "REDUCED_REDUNDANCY" {
		t.Fatalf("storage class %q (%v), want REDUCED_REDUNDANCY", class, err)
	}
}
