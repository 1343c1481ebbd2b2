package crypto

import (
	"testing"
	"time"

	"github.com/cairn-backup/cairn/internal/digest"
)

func FuzzDecodeKeyFile(f *testing.F) {
	k, _ := NewRandomKey(XAES256GCM)
	kf, _ := WrapKey(k, []byte("pw"), digest.ID{}, testKDF(), time.Unix(0, 0), "h", "u")
	good, _ := kf.Encode()
	f.Add(good)
	f.Add([]byte("{}"))
	f.Fuzz(func(t *testing.T, data []byte) {
		kf, err := DecodeKeyFile(data)
		if err != nil {
			return
		}
		// Whatever decodes is within bounds, so unwrapping it is safe to attempt.
		if kf.KDF.MemoryKiB <= 64<<10 && kf.KDF.Time <= 2 {
			_, _ = kf.Unwrap([]byte("pw"), XAES256GCM)
		}
	})
}
