package remotetest

import (
	"context"
	"crypto/md5"
	"encoding/hex"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/cairn-backup/cairn/remote"
)

// ConfirmStore is a store whose uploads may be confirmed in bulk.
type ConfirmStore interface {
	remote.Storage
	remote.Confirmer
}

// RunConfirmer is the conformance suite of remote.Confirmer: every store that offers
// it must pass it, besides Run. Each subtest gets a fresh, empty store from open and
// closes it at the end. What it holds stores to: an object stored whole is never
// reported; an object missing, or of another size (or, when Sent has an MD5, other
// bytes) is always reported; a check that could not be made is an error, never a
// clean answer.
func RunConfirmer(t *testing.T, open func(t *testing.T) ConfirmStore) {
	tests := []struct {
		name string
		fn   func(*testing.T, ConfirmStore)
	}{
		{"Stored", testConfirmStored},
		{"Nothing", testConfirmNothing},
		{"Missing", testConfirmMissing},
		{"Replaced", testConfirmReplaced},
		{"OtherThanSent", testConfirmOtherThanSent},
		{"Many", testConfirmMany},
		{"InvalidHandles", testConfirmInvalidHandles},
		{"Cancelled", testConfirmCancelled},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := open(t)
			defer func() {
				if err := s.Close(); err != nil {
					t.Errorf("close: %v", err)
				}
			}()
			tc.fn(t, s)
		})
	}
}

// putUnconfirmed stores data and checks what PutUnconfirmed says it sent.
func putUnconfirmed(t testing.TB, s ConfirmStore, h remote.Handle, data []byte) remote.Sent {
	t.Helper()
	sent, err := s.PutUnconfirmed(t.Context(), h, remote.Bytes(data))
	if err != nil {
		t.Fatalf("PutUnconfirmed %s: %v", h, err)
	}
	sum := md5.Sum(data)
	if sent.Handle != h || sent.Size != int64(len(data)) || sent.MD5 != "" && sent.MD5 != hex.EncodeToString(sum[:]) {
		t.Fatalf("PutUnconfirmed %s of %d bytes (MD5 %x) sent %+v", h, len(data), sum, sent)
	}
	return sent
}

// confirm asks about objs and checks that exactly want are reported, as they were
// given, in any order.
func confirm(t testing.TB, s ConfirmStore, what string, objs, want []remote.Sent) {
	t.Helper()
	bad, err := s.Confirm(t.Context(), objs)
	if err != nil {
		t.Fatalf("%s: Confirm: %v", what, err)
	}
	if !slices.Equal(sortedSent(bad), sortedSent(want)) {
		t.Errorf("%s: Confirm reports %v, want %v", what, describe(bad), describe(want))
	}
}

func sortedSent(objs []remote.Sent) []remote.Sent {
	return slices.SortedFunc(slices.Values(objs), func(a, b remote.Sent) int {
		return strings.Compare(sentString(a), sentString(b))
	})
}

func sentString(o remote.Sent) string {
	return fmt.Sprintf("%s (%d bytes, MD5 %q)", o.Handle, o.Size, o.MD5)
}

func describe(objs []remote.Sent) []string {
	var out []string
	for _, o := range sortedSent(objs) {
		out = append(out, sentString(o))
	}
	return out
}

func testConfirmStored(t *testing.T, s ConfirmStore) {
	rng := newRand(t)
	var sent []remote.Sent
	for i, size := range []int{0, 1, 4096, 1<<20 + 7} {
		for _, typ := range []remote.Type{remote.Data, remote.Index, remote.Snapshot} {
			h := remote.Handle{Type: typ, Name: randomName(rng)}
			data := randomBytes(rng, size+i)
			sent = append(sent, putUnconfirmed(t, s, h, data))
			sameBytes(t, h.String(), get(t, s, h, 0, 0), data)
		}
	}
	sent = append(sent, putUnconfirmed(t, s, remote.Handle{Type: remote.Config}, []byte("config")))
	confirm(t, s, "stored objects", sent, nil)
	confirm(t, s, "stored objects again", sent, nil)
}

func testConfirmNothing(t *testing.T, s ConfirmStore) {
	confirm(t, s, "nil", nil, nil)
	confirm(t, s, "empty list", []remote.Sent{}, nil)
}

func testConfirmMissing(t *testing.T, s ConfirmStore) {
	rng := newRand(t)
	var sent []remote.Sent
	for range 5 {
		sent = append(sent, putUnconfirmed(t, s, remote.Handle{Type: remote.Data, Name: randomName(rng)}, randomBytes(rng, 300)))
	}
	for _, i := range []int{1, 3} {
		if err := s.Delete(t.Context(), sent[i].Handle); err != nil {
			t.Fatal(err)
		}
	}
	never := remote.Sent{Handle: remote.Handle{Type: remote.Data, Name: randomName(rng)}, Size: 10}
	confirm(t, s, "two deleted, one never stored", append(slices.Clone(sent), never), []remote.Sent{sent[1], sent[3], never})
	confirm(t, s, "only the deleted", []remote.Sent{sent[3]}, []remote.Sent{sent[3]})
}

// testConfirmReplaced: an object replaced after its upload is not the one sent.
func testConfirmReplaced(t *testing.T, s ConfirmStore) {
	rng := newRand(t)
	var sent []remote.Sent
	for range 3 {
		sent = append(sent, putUnconfirmed(t, s, remote.Handle{Type: remote.Data, Name: randomName(rng)}, randomBytes(rng, 500)))
	}
	put(t, s, sent[0].Handle, randomBytes(rng, 499)) // another size
	put(t, s, sent[1].Handle, randomBytes(rng, 500)) // other bytes of the same size
	want := []remote.Sent{sent[0]}
	if sent[1].MD5 != "" {
		want = append(want, sent[1])
	}
	confirm(t, s, "replaced", sent, want)
}

// testConfirmOtherThanSent: an object is checked against the Sent given, not against
// what the store remembers of the upload.
func testConfirmOtherThanSent(t *testing.T, s ConfirmStore) {
	rng := newRand(t)
	a := putUnconfirmed(t, s, remote.Handle{Type: remote.Index, Name: randomName(rng)}, randomBytes(rng, 200))
	b := putUnconfirmed(t, s, remote.Handle{Type: remote.Index, Name: randomName(rng)}, randomBytes(rng, 200))
	longer, shorter := a, a
	longer.Size++
	shorter.Size--
	want := []remote.Sent{longer, shorter}
	if a.MD5 != "" && b.MD5 != "" {
		other := a
		other.MD5 = b.MD5
		want = append(want, other)
	}
	confirm(t, s, "sizes and MD5s other than stored", append(slices.Clone(want), b), want)
}

// testConfirmMany: a batch larger than a listing page names exactly its missing
// objects, wherever they sort.
func testConfirmMany(t *testing.T, s ConfirmStore) {
	rng := newRand(t)
	var sent, want []remote.Sent
	for i := range 40 {
		o := putUnconfirmed(t, s, remote.Handle{Type: remote.Data, Name: randomName(rng)}, randomBytes(rng, 1+i))
		sent = append(sent, o)
		if i%7 == 3 {
			want = append(want, o)
			if err := s.Delete(t.Context(), o.Handle); err != nil {
				t.Fatal(err)
			}
		}
	}
	put(t, s, remote.Handle{Type: remote.Data, Name: randomName(rng)}, []byte("a stranger"))
	confirm(t, s, "40 objects, 6 deleted", sent, want)
}

func testConfirmInvalidHandles(t *testing.T, s ConfirmStore) {
	bad := remote.Handle{Type: remote.Data, Name: "../escape"}
	if _, err := s.PutUnconfirmed(t.Context(), bad, remote.Bytes([]byte("x"))); !errors.Is(err, remote.ErrInvalidHandle) {
		t.Errorf("PutUnconfirmed %q: %v, want ErrInvalidHandle", bad.Name, err)
	}
	if _, err := s.Confirm(t.Context(), []remote.Sent{{Handle: bad, Size: 1}}); !errors.Is(err, remote.ErrInvalidHandle) {
		t.Errorf("Confirm %q: %v, want ErrInvalidHandle", bad.Name, err)
	}
}

// testConfirmCancelled: a check that was not made must not vouch for anything.
func testConfirmCancelled(t *testing.T, s ConfirmStore) {
	rng := newRand(t)
	sent := putUnconfirmed(t, s, remote.Handle{Type: remote.Data, Name: randomName(rng)}, randomBytes(rng, 100))
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if bad, err := s.Confirm(ctx, []remote.Sent{sent}); err == nil {
		t.Errorf("Confirm with a cancelled context: no error (bad %v)", bad)
	}
	h := remote.Handle{Type: remote.Data, Name: randomName(rng)}
	if _, err := s.PutUnconfirmed(ctx, h, remote.Bytes([]byte("late"))); err == nil {
		t.Error("PutUnconfirmed with a cancelled context: no error")
	}
}
