package repo

import (
	"bytes"
	"encoding/binary"
	"fmt"

	"github.com/cairn-backup/cairn/internal/digest"
)

// An id list ends state and mark records: count uvarint ‖ count × id, strictly
// increasing, so that one set has one encoding.

// decodeIDList parses an id list that must fill b exactly.
func decodeIDList(b []byte) ([]digest.ID, error) {
	n, k := binary.Uvarint(b)
	if k <= 0 || k != len(binary.AppendUvarint(nil, n)) {
		return nil, fmt.Errorf("bad count")
	}
	rest := b[k:]
	if len(rest)%digest.Size != 0 || n != uint64(len(rest)/digest.Size) {
		return nil, fmt.Errorf("count %d does not match %d bytes of ids", n, len(rest))
	}
	ids := make([]digest.ID, n)
	for i := range ids {
		copy(ids[i][:], rest[i*digest.Size:])
		if i > 0 && bytes.Compare(ids[i-1][:], ids[i][:]) >= 0 {
			return nil, fmt.Errorf("id %d not after id %d", i, i-1)
		}
	}
	return ids, nil
}
