package repo

import (
	"bytes"
	"reflect"
	"slices"
	"testing"
	"time"

	"github.com/cairn-backup/cairn/internal/crypto"
	"github.com/cairn-backup/cairn/internal/digest"
	"github.com/cairn-backup/cairn/internal/golden"
	"github.com/cairn-backup/cairn/internal/index"
	"github.com/cairn-backup/cairn/remote"
)

// The golden files freeze the config object of both formats, the state record and
// the sealed form of index and state objects. Keys and nonces come from the fixed
// random source of package golden; go test ./internal/repo -run Golden -update
// rewrites the files.

func goldenID(s string) digest.ID { return digest.Of([]byte(s)) }

// goldenConfig is a repository of format version with fixed values; its key is the
// first the fixed random source draws.
func goldenConfig(t *testing.T, version int) (*Config, *crypto.Key) {
	t.Helper()
	cfg := &Config{
		Version: version, ID: goldenID("golden repository"),
		Created:    time.Date(2026, 3, 1, 12, 30, 0, 0, time.UTC),
		Polynomial: "3da3358b4dc173", // irreducible
		MinChunk:   DefaultMinChunk, AvgBits: DefaultAvgBits, MaxChunk: DefaultMaxChunk,
		PackSize: DefaultPackSize,
	}
	if err := cfg.validate(); err != nil {
		t.Fatal(err)
	}
	c, err := cipherFor(version)
	if err != nil {
		t.Fatal(err)
	}
	golden.Random(t)
	key, err := crypto.NewRandomKey(c)
	if err != nil {
		t.Fatal(err)
	}
	return cfg, key
}

func TestGoldenConfig(t *testing.T) {
	for _, c := range []struct {
		file    string
		version int
		cipher  crypto.Cipher
		lock    *LockConfig
	}{
		{"config-format1.hex", 1, crypto.XChaCha20Poly1305, nil},
		{"config-format2.hex", 2, crypto.XAES256GCM, nil},
		// init --object-lock: the one field a repository with locks adds.
		{"config-lock.hex", 2, crypto.XAES256GCM, &LockConfig{Mode: remote.Compliance, LockFor: 30 * 24 * 3600}},
	} {
		cfg, key := goldenConfig(t, c.version)
		cfg.ObjectLock = c.lock
		b, err := encodeConfig(cfg, key)
		if err != nil {
			t.Fatal(err)
		}
		golden.Check(t, c.file, golden.Hex(b))

		file := golden.ReadHex(t, c.file)
		h, err := readConfigHeader(file)
		if err != nil {
			t.Fatalf("%s: %v", c.file, err)
		}
		if h.ID != cfg.ID || h.Version != c.version || h.Cipher != c.cipher {
			t.Errorf("%s: header %+v, want id %s, format %d, cipher %d", c.file, h, cfg.ID.Short(), c.version, c.cipher)
		}
		got, err := decodeConfig(file, key)
		if err != nil {
			t.Fatalf("%s: %v", c.file, err)
		}
		if !reflect.DeepEqual(got, cfg) {
			t.Errorf("%s decodes to\n%+v\nwant\n%+v", c.file, got, cfg)
		}
	}
}

func TestGoldenState(t *testing.T) {
	a, b, c := goldenID("pack a"), goldenID("pack b"), goldenID("pack c")
	for _, s := range []struct {
		file string
		kind StateKind
		ids  []digest.ID // as given: EncodeState sorts and deduplicates
	}{
		{"state-verified.hex", StateVerified, []digest.ID{c, a, b, a}},
		{"state-forgotten.hex", StateForgotten, []digest.ID{goldenID("snapshot")}},
		{"state-empty.hex", StateVerified, nil},
	} {
		golden.Check(t, s.file, golden.Hex(EncodeState(s.kind, s.ids)))
		kind, ids, err := DecodeState(golden.ReadHex(t, s.file))
		if err != nil {
			t.Fatalf("%s: %v", s.file, err)
		}
		want := slices.Compact(slices.SortedFunc(slices.Values(s.ids), func(x, y digest.ID) int {
			return bytes.Compare(x[:], y[:])
		}))
		if kind != s.kind || len(ids) != len(want) || !slices.Equal(ids, want) {
			t.Errorf("%s decodes to kind %d, %v; want kind %d, %v", s.file, kind, ids, s.kind, want)
		}
	}
}

// TestGoldenSealedObject freezes an index segment and a state record as the
// repository stores them: sealed under their name, type and repository.
func TestGoldenSealedObject(t *testing.T) {
	seg := &index.Segment{Packs: []index.Pack{{ID: goldenID("pack"), Size: 1000, Blobs: []index.Blob{
		{Type: index.Data, ID: goldenID("chunk"), Offset: 0, Length: 900},
	}}}}
	for _, o := range []struct {
		file  string
		typ   remote.Type
		plain []byte
	}{
		{"index-object.hex", remote.Index, seg.Encode()},
		{"state-object.hex", remote.State, EncodeState(StateForgotten, []digest.ID{goldenID("snapshot")})},
	} {
		cfg, key := goldenConfig(t, FormatVersion)
		r := &Repo{key: key, cfg: cfg}
		id, h, sealed := r.sealObject(o.typ, o.plain)
		if h != (remote.Handle{Type: o.typ, Name: digest.Of(o.plain).String()}) || id != digest.Of(o.plain) {
			t.Errorf("%s: named %s (%s), want the SHA-256 of the plaintext", o.file, h, id.Short())
		}
		golden.Check(t, o.file, golden.Hex(sealed))
		got, err := r.openObject(o.typ, id, golden.ReadHex(t, o.file))
		if err != nil || !bytes.Equal(got, o.plain) {
			t.Errorf("%s opens to %x, %v; want %x", o.file, got, err, o.plain)
		}
	}
}

func TestGoldenMark(t *testing.T) {
	a, b := goldenID("pack a"), goldenID("pack b")
	golden.Check(t, "mark.hex", golden.Hex(EncodeMark(36*time.Hour, []digest.ID{b, a, b})))
	grace, packs, err := DecodeMark(golden.ReadHex(t, "mark.hex"))
	if err != nil {
		t.Fatal(err)
	}
	want := slices.SortedFunc(slices.Values([]digest.ID{a, b}), func(x, y digest.ID) int { return bytes.Compare(x[:], y[:]) })
	if grace != 36*time.Hour || !slices.Equal(packs, want) {
		t.Errorf("mark.hex decodes to %v, %v; want 36h, %v", grace, packs, want)
	}
}
