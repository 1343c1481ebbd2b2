package pack

import (
	"bytes"
	"testing"

	"github.com/cairn-backup/cairn/internal/crypto"
	"github.com/cairn-backup/cairn/internal/digest"
)

// TestCopy: blobs copied out of a pack (compressed, raw, empty, both types) land in
// the new pack byte for byte, at new offsets, in memory and streamed, and open there.
func TestCopy(t *testing.T) {
	key := mustKey(t)
	blobs := []blob{
		{Data, textData(3, 70000)}, {Data, randomData(4, 5000)}, {Data, nil},
		{Tree, []byte("a tree node")}, {Data, textData(5, 1<<20)},
	}
	src, entries := buildPack(t, key, CompressDefault, blobs)
	for _, stream := range []bool{false, true} {
		var out bytes.Buffer
		w := NewWriter(key, testRepo, CompressOff) // a level that would change every blob
		if stream {
			w = NewStreamWriter(key, testRepo, CompressOff, &out)
		}
		var copied []blob
		var written []Entry
		for i := len(entries) - 1; i >= 0; i-- { // reversed: every offset changes
			e := entries[i]
			sealed := src[e.Offset:e.End()]
			got, err := w.Copy(e.Type, e.ID, sealed)
			if err != nil {
				t.Fatalf("copy blob %d: %v", i, err)
			}
			if got.Length != e.Length {
				t.Fatalf("blob %d: sealed length %d, was %d", i, got.Length, e.Length)
			}
			copied, written = append(copied, blobs[i]), append(written, got)
		}
		data, _, _, err := w.Finish()
		if err != nil {
			t.Fatal(err)
		}
		if stream {
			data = out.Bytes()
		}
		checkPack(t, key, data, written, copied)
		for i, e := range written {
			old := entries[len(entries)-1-i]
			if !bytes.Equal(data[e.Offset:e.End()], src[old.Offset:old.End()]) {
				t.Fatalf("blob %d was not copied verbatim", i)
			}
		}
	}
}

// TestCopyRefusesDamage: Copy opens what it is given first, and a blob that does not
// open (flipped bytes, another id, type, key or repository, a payload that breaks the
// format inside a valid seal) is refused and leaves the pack as it was.
func TestCopyRefusesDamage(t *testing.T) {
	key := mustKey(t)
	src, entries := buildPack(t, key, CompressDefault, []blob{{Data, textData(6, 9000)}})
	e := entries[0]
	sealed := src[e.Offset:e.End()]
	badContent := key.Seal(nil, append([]byte{modeRaw}, "not the blob"...), blobAD(testRepo, Data, e.ID))
	cases := []struct {
		name   string
		key    *crypto.Key
		repo   digest.ID
		t      BlobType
		id     digest.ID
		sealed []byte
		want   error
	}{
		{"flipped ciphertext byte", key, testRepo, Data, e.ID, flip(sealed, 100), crypto.ErrAuth},
		{"flipped nonce byte", key, testRepo, Data, e.ID, flip(sealed, 0), crypto.ErrAuth},
		{"cut short", key, testRepo, Data, e.ID, sealed[:len(sealed)-1], crypto.ErrAuth},
		{"another id", key, testRepo, Data, digest.Of([]byte("x")), sealed, crypto.ErrAuth},
		{"another type", key, testRepo, Tree, e.ID, sealed, crypto.ErrAuth},
		{"another key", mustKey(t), testRepo, Data, e.ID, sealed, crypto.ErrAuth},
		{"another repository", key, digest.Of([]byte("other")), Data, e.ID, sealed, crypto.ErrAuth},
		{"content not hashing to its id", key, testRepo, Data, e.ID, badContent, ErrCorrupt},
		{"too short to be sealed", key, testRepo, Data, e.ID, sealed[:10], ErrCorrupt},
		{"longer than any blob", key, testRepo, Data, e.ID, make([]byte, MaxSealedBlobSize+1), ErrCorrupt},
	}
	for _, c := range cases {
		w := NewWriter(c.key, c.repo, CompressOff)
		_, err := w.Copy(c.t, c.id, c.sealed)
		wantErr(t, c.name, err, c.want)
		if w.Count() != 0 || w.Size() != 0 {
			t.Errorf("%s: the refused blob was added (%d blobs, %d bytes)", c.name, w.Count(), w.Size())
		}
	}
}
