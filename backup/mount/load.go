package mount

import (
	"context"
	"fmt"

	"github.com/cairn-backup/cairn/internal/digest"
	"github.com/cairn-backup/cairn/internal/repo"
)

// loadData returns the loadFunc of r: one ranged read of the blob's sealed bytes,
// opened in place (authenticated, decompressed, hash-checked), so that a blob costs
// one buffer, not two.
func loadData(r *repo.Repo) loadFunc {
	return func(ctx context.Context, id digest.ID) ([]byte, error) {
		b, ok := r.Lookup(repo.DataBlob, id)
		if !ok {
			return nil, fmt.Errorf("data blob %s: %w", id.Short(), repo.ErrBlobNotFound)
		}
		var plain []byte
		var openErr error
		err := r.ReadBlobs(ctx, []repo.Blob{b}, repo.ReadOptions{}, func(b repo.Blob, sealed []byte, err error) error {
			if err != nil {
				openErr = err
				return nil
			}
			plain, openErr = r.OpenSealed(b, sealed, nil)
			return nil
		})
		if err != nil {
			return nil, err
		}
		return plain, openErr
	}
}
