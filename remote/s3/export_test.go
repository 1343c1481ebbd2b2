package s3

import (
	"context"

	"github.com/cairn-backup/cairn/remote"
	"github.com/minio/minio-go/v7"
)

// SetListPage makes Confirm list n keys per request, so that tests cross pages with
// few objects.
func (s *Store) SetListPage(n int) { s.listPage = n }

// StorageClassOf returns the storage class the server reports for h's object (from
// the header: minio-go's StatObject leaves ObjectInfo.StorageClass empty).
func (s *Store) StorageClassOf(ctx context.Context, h remote.Handle) (string, error) {
	info, err := s.client.StatObject(ctx, s.ep.bucket, s.key(h), minio.StatObjectOptions{})
	return info.Metadata.Get("X-Amz-Storage-Class"), err
}
