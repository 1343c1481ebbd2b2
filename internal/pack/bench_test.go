package pack

import (
	"fmt"
	"testing"

	"github.com/cairn-backup/cairn/internal/digest"
)

const benchBlobSize = 1 << 20

func benchData(kind string) []byte {
	if kind == "random" {
		return bigRandom()[:benchBlobSize]
	}
	return bigText()[:benchBlobSize]
}

// BenchmarkAdd measures compress+seal+append of 1 MiB blobs, one goroutine.
func BenchmarkAdd(b *testing.B) {
	key := mustKey(b)
	for c := range numCompressions {
		for _, kind := range []string{"text", "random"} {
			b.Run(c.String()+"/"+kind, func(b *testing.B) {
				data := benchData(kind)
				id := digest.Of(data)
				if _, err := encoderFor(max(c, CompressFastest)); err != nil {
					b.Fatal(err)
				}
				b.SetBytes(int64(len(data)))
				w := NewWriter(key, testRepo, c)
				for b.Loop() {
					if w.Count() == 32 {
						w = NewWriter(key, testRepo, c)
					}
					if _, err := w.Add(Data, id, data); err != nil {
						b.Fatal(err)
					}
				}
				b.ReportMetric(float64(w.Size())/float64(w.Count()*len(data)), "ratio")
			})
		}
	}
}

// BenchmarkAddParallel checks that Writers on several goroutines share the encoders
// without serialising: MB/s should scale with GOMAXPROCS.
func BenchmarkAddParallel(b *testing.B) {
	key := mustKey(b)
	data := benchData("text")
	id := digest.Of(data)
	b.SetBytes(int64(len(data)))
	b.RunParallel(func(pb *testing.PB) {
		w := NewWriter(key, testRepo, CompressDefault)
		for pb.Next() {
			if w.Count() == 32 {
				w = NewWriter(key, testRepo, CompressDefault)
			}
			if _, err := w.Add(Data, id, data); err != nil {
				b.Error(err)
				return
			}
		}
	})
}

// BenchmarkOpenBlob measures open+decompress+hash of 1 MiB blobs written at each level.
func BenchmarkOpenBlob(b *testing.B) {
	key := mustKey(b)
	for c := range numCompressions {
		for _, kind := range []string{"text", "random"} {
			b.Run(c.String()+"/"+kind, func(b *testing.B) {
				data := benchData(kind)
				w := NewWriter(key, testRepo, c)
				e, err := w.Add(Data, digest.Of(data), data)
				if err != nil {
					b.Fatal(err)
				}
				pack, _, _, _ := w.Finish()
				sealed := pack[e.Offset:e.End()]
				b.SetBytes(int64(len(data)))
				for b.Loop() {
					if _, err := OpenBlob(key, testRepo, e, sealed); err != nil {
						b.Fatal(err)
					}
				}
			})
		}
	}
}

// BenchmarkOpenBlobInPlace measures OpenBlobInPlace on 1 MiB of random data (a raw
// payload: decrypt and hash only), the copy back into the sealed buffer included.
func BenchmarkOpenBlobInPlace(b *testing.B) {
	key := mustKey(b)
	data := benchData("random")
	w := NewWriter(key, testRepo, CompressDefault)
	e, err := w.Add(Data, digest.Of(data), data)
	if err != nil {
		b.Fatal(err)
	}
	pack, _, _, _ := w.Finish()
	sealed := pack[e.Offset:e.End()]
	buf := make([]byte, len(sealed))
	b.SetBytes(int64(len(data)))
	for b.Loop() {
		copy(buf, sealed)
		if _, err := OpenBlobInPlace(key, testRepo, e, buf, nil); err != nil {
			b.Fatal(err)
		}
	}
}

// marginalData returns 1 MiB of random 4 KiB pages with one page in every textEvery
// holding text: barely compressible data, like media files with some metadata.
func marginalData(textEvery int) []byte {
	out := append([]byte(nil), bigRandom()[:benchBlobSize]...)
	text := bigText()
	for p := 0; p < len(out); p += 4096 * textEvery {
		copy(out[p:p+4096], text[p:])
	}
	return out
}

// BenchmarkMarginal measures what storing barely compressible blobs compressed would
// cost: the saving zstd achieves and the decode time paid on every read (a raw payload
// is returned in place, at no cost).
func BenchmarkMarginal(b *testing.B) {
	enc, _ := encoderFor(CompressDefault)
	dec, _ := sharedDecoder()
	for _, every := range []int{4, 8, 16, 32, 64, 256} {
		b.Run(fmt.Sprintf("text1in%d", every), func(b *testing.B) {
			data := marginalData(every)
			frame := enc.EncodeAll(data, nil)
			b.SetBytes(int64(len(data)))
			for b.Loop() {
				if _, err := decodeFrame(dec, frame, nil); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(100*(1-float64(len(frame))/float64(len(data))), "saved%")
		})
	}
}

// BenchmarkEarlyOut weighs compressing a 64 KiB sample first, to skip incompressible
// blobs cheaply: "full" compresses a whole 1 MiB blob, "sample" its first 64 KiB.
func BenchmarkEarlyOut(b *testing.B) {
	for c := CompressFastest; c < numCompressions; c++ {
		enc, _ := encoderFor(c)
		for _, kind := range []string{"text", "random"} {
			data := benchData(kind)
			for _, n := range []int{len(data), 64 << 10} {
				name := map[bool]string{true: "full", false: "sample"}[n == len(data)]
				b.Run(c.String()+"/"+kind+"/"+name, func(b *testing.B) {
					dst := make([]byte, 0, 2*len(data))
					b.SetBytes(int64(len(data)))
					for b.Loop() {
						dst = enc.EncodeAll(data[:n], dst[:0])
					}
				})
			}
		}
	}
}
