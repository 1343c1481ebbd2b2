package pack

import (
	"fmt"
	"runtime"
	"sync"

	"github.com/klauspost/compress/zstd"
)

// Compression is the zstd level a Writer uses. The zero value is CompressOff.
type Compression int

// The compression levels, mapped to klauspost/compress's zstd speeds.
const (
	CompressOff     Compression = iota // store every blob raw
	CompressFastest                    // zstd.SpeedFastest
	CompressDefault                    // zstd.SpeedDefault
	CompressMax                        // zstd.SpeedBestCompression
	numCompressions
)

var compressionNames = [numCompressions]string{"off", "fastest", "default", "max"}

// ParseCompression accepts "off", "fastest", "default" or "max".
func ParseCompression(s string) (Compression, error) {
	for c, name := range compressionNames {
		if s == name {
			return Compression(c), nil
		}
	}
	return 0, fmt.Errorf("unknown compression %q (want off, fastest, default or max)", s)
}

// String returns the name ParseCompression accepts.
func (c Compression) String() string {
	if c < 0 || c >= numCompressions {
		return fmt.Sprintf("compression(%d)", int(c))
	}
	return compressionNames[c]
}

// Valid reports whether c is a known level.
func (c Compression) Valid() bool { return c >= 0 && c < numCompressions }

// Payload modes: the first plaintext byte of every sealed blob.
const (
	modeRaw  = 0
	modeZstd = 1
)

// minSaving keeps a compressed payload only if it saves at least 1/minSaving (3.1 %)
// of the raw size. Random data never passes (zstd's output is 0.003 % larger), so the
// threshold only decides for mostly incompressible blobs with a few compressible pages.
// BenchmarkMarginal: decoding those costs 0.3–0.45 ms per MiB, 15–20 % on top of
// OpenBlob's raw path (1.9 ms per MiB: decrypt and hash) plus an extra buffer, for a
// saving under 3 %; a raw payload is returned in place instead.
//
// No cheap early-out (compressing a 64 KiB sample first) is taken. BenchmarkEarlyOut:
// at fastest and default, zstd already gives up on random 1 MiB in 0.5 ms, while the
// sample adds 0.8–1 ms to every compressible MiB; at max it would save 6 ms per random
// MiB but add 5 ms to every compressible MiB that takes 65–130 ms anyway.
const minSaving = 32

// Encoders and the decoder are costly to build (tables of hundreds of KiB to MiB), so
// each level's encoder is built once, on first use, and shared. EncodeAll and DecodeAll
// are safe for concurrent use: each call borrows one of GOMAXPROCS internal
// encoders/decoders from a channel (zstd/encoder.go EncodeAll, decoder.go DecodeAll),
// so the channel is the pool and concurrent packers do not serialise on one core.
var (
	encoders [numCompressions]struct {
		once sync.Once
		enc  *zstd.Encoder
		err  error
	}
	decoderOnce sync.Once
	decoder     *zstd.Decoder
	decoderErr  error
)

var zstdLevels = [numCompressions]zstd.EncoderLevel{
	CompressFastest: zstd.SpeedFastest,
	CompressDefault: zstd.SpeedDefault,
	CompressMax:     zstd.SpeedBestCompression,
}

func encoderFor(c Compression) (*zstd.Encoder, error) {
	e := &encoders[c]
	e.once.Do(func() {
		e.enc, e.err = zstd.NewWriter(nil,
			zstd.WithEncoderLevel(zstdLevels[c]),
			zstd.WithEncoderConcurrency(runtime.GOMAXPROCS(0)),
			// The blob's SHA-256 and the AEAD tag already check the content.
			zstd.WithEncoderCRC(false),
			// Declare the content size in every frame, even below 256 bytes, so a
			// reader allocates exactly once, and only what the format allows.
			zstd.WithSingleSegment(true))
	})
	return e.enc, e.err
}

func sharedDecoder() (*zstd.Decoder, error) {
	decoderOnce.Do(func() {
		decoder, decoderErr = zstd.NewReader(nil,
			zstd.WithDecoderConcurrency(0), // GOMAXPROCS
			zstd.WithDecoderMaxMemory(MaxBlobSize),
			zstd.WithDecoderMaxWindow(MaxBlobSize),
			zstd.WithDecodeAllCapLimit(true)) // never grow past the declared size
	})
	return decoder, decoderErr
}

// appendPayload appends mode ‖ payload for raw to dst: the zstd frame if it saves
// enough, else raw itself.
func appendPayload(dst, raw []byte, c Compression) ([]byte, error) {
	start := len(dst)
	if c != CompressOff && len(raw) > 0 {
		enc, err := encoderFor(c)
		if err != nil {
			return dst, fmt.Errorf("zstd encoder %s: %w", c, err)
		}
		dst = enc.EncodeAll(raw, append(dst, modeZstd))
		if len(dst)-start-1 <= len(raw)-len(raw)/minSaving {
			return dst, nil
		}
		dst = dst[:start]
	}
	return append(append(dst, modeRaw), raw...), nil
}

// decodePayload reverses appendPayload. A raw payload is returned in place; a zstd one
// is decoded into a slice of at most MaxBlobSize bytes from alloc (nil: a new one).
func decodePayload(plain []byte, alloc func(n int) []byte) ([]byte, error) {
	if len(plain) == 0 {
		return nil, corrupt("empty payload, no mode byte")
	}
	mode, payload := plain[0], plain[1:]
	switch mode {
	case modeRaw:
		if len(payload) > MaxBlobSize {
			return nil, corrupt("raw payload of %d bytes exceeds %d", len(payload), MaxBlobSize)
		}
		return payload, nil
	case modeZstd:
		dec, err := sharedDecoder()
		if err != nil {
			return nil, fmt.Errorf("zstd decoder: %w", err)
		}
		return decodeFrame(dec, payload, alloc)
	}
	return nil, corrupt("unknown payload mode %d", mode)
}

// zstdMaxBlock and zstdOverAlloc are the largest zstd block and the bytes the decoder
// may copy past a match (klauspost/compress zstd: maxCompressedBlockSize,
// compressedBlockOverAlloc).
const (
	zstdMaxBlock  = 128 << 10
	zstdOverAlloc = 32
)

// decodeFrame decodes a zstd frame that must declare a content size of at most
// MaxBlobSize into a buffer of that size (and a little slack). A frame without the size
// would make the decoder grow its output by doubling, allocating several times the cap
// before refusing a bomb; with it, memory is bounded by the declared size.
func decodeFrame(dec *zstd.Decoder, payload []byte, alloc func(n int) []byte) ([]byte, error) {
	var h zstd.Header
	if err := h.Decode(payload); err != nil {
		return nil, corrupt("zstd frame header: %v", err)
	}
	if h.Skippable || !h.HasFCS || h.FrameContentSize > MaxBlobSize {
		return nil, corrupt("zstd frame declares no content size of at most %d bytes", MaxBlobSize)
	}
	// The decoder copies matches 32 bytes at a time where the buffer has a block of
	// room to spare, and byte by byte near its end: without slack every block of a
	// small blob, and the last of a large one, take the slow path (2–2.5× slower).
	size := int(h.FrameContentSize)
	size += min(size, zstdMaxBlock) + zstdOverAlloc
	var buf []byte
	if alloc != nil {
		buf = alloc(size)
	}
	if cap(buf) < size {
		buf = make([]byte, 0, size)
	}
	// The decoder appends, and with its cap limit never grows buf past size; the
	// frame's declared size is checked below.
	out, err := dec.DecodeAll(payload, buf[:0:size])
	if err != nil {
		return nil, corrupt("decompress: %v", err)
	}
	if uint64(len(out)) != h.FrameContentSize {
		return nil, corrupt("decompressed %d bytes, frame declares %d", len(out), h.FrameContentSize)
	}
	return out, nil
}
