package repo

import (
	"context"
	"fmt"

	"github.com/cairn-backup/cairn/internal/pack"
)

// CopyBlob stores blob b, whose sealed bytes ReadBlobs handed over, into a new pack
// as it is stored now: compressed or raw, with its nonce, never recompressed or sealed
// again (a blob's seal names the repository, its type and its id, not its pack). The
// bytes are authenticated and checked first, as OpenSealed does (the seal, the
// payload, the content hash against b.ID); a blob that fails is refused with that
// error (IsDamage) and copied nowhere. Like SaveBlob it adds nothing when the
// repository has the blob outside the packs being replaced, returns the sealed bytes
// added, and is safe for concurrent use. sealed is not kept after it returns.
func (s *Writer) CopyBlob(ctx context.Context, b Blob, sealed []byte) (int, error) {
	if err := s.r.LoadIndex(ctx); err != nil {
		return 0, err
	}
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	n, err := s.add(blobKey{b.Type, b.ID}, func(w *pack.Writer) (pack.Entry, error) {
		return w.Copy(b.Type, b.ID, sealed)
	})
	if err != nil {
		return 0, fmt.Errorf("pack %s: %w", b.Pack.Short(), err)
	}
	return n, nil
}
