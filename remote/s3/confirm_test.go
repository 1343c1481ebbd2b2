package s3_test

import (
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/cairn-backup/cairn/remote"
	"github.com/cairn-backup/cairn/remote/s3/s3test"
)

// Confirm vouches for a batch of uploads with one listing where a HEAD per object
// would cost a request each, and names exactly the objects that are missing, short
// or not what was sent.
func TestConfirmBatch(t *testing.T) {
	p, st := proxied(t, s3test.Config{Seed: 3})
	rng := rand.New(rand.NewPCG(3, 4))
	var sent []remote.Sent
	for range 12 {
		h, data := pack(rng, 100+rng.IntN(2000))
		s, err := st.PutUnconfirmed(t.Context(), h, remote.Bytes(data))
		if err != nil {
			t.Fatal(err)
		}
		if s.Size != int64(len(data)) || len(s.MD5) != 32 {
			t.Fatalf("sent %+v for %d bytes, want its size and MD5", s, len(data))
		}
		sent = append(sent, s)
	}
	before := p.Counts()
	bad, err := st.Confirm(t.Context(), sent)
	if err != nil || len(bad) != 0 {
		t.Fatalf("confirm of stored objects: bad %v, %v", bad, err)
	}
	after := p.Counts()
	if after.List-before.List != 1 || after.Head != before.Head {
		t.Errorf("confirm of 12 objects: %d listings and %d HEADs, want 1 and 0",
			after.List-before.List, after.Head-before.Head)
	}

	// What the server never stored, stored short, or holds with other bytes.
	lost, _ := pack(rng, 500)
	p.Script(s3test.OpPut, s3test.LiePut)
	lie, err := st.PutUnconfirmed(t.Context(), lost, remote.Bytes(make([]byte, 500)))
	if err != nil {
		t.Fatalf("a lying PUT looks fine to PutUnconfirmed: %v", err)
	}
	short := sent[4]
	short.Size++
	other := sent[7]
	other.MD5 = sent[8].MD5
	never, _ := pack(rng, 10)
	want := []remote.Sent{lie, short, other, {Handle: never, Size: 10}}
	for _, page := range []int{1000, 3, 1} {
		st.SetListPage(page)
		ask := append(slices.Clone(sent), want[0], want[3])
		ask[4], ask[7] = short, other
		bad, err := st.Confirm(t.Context(), ask)
		if err != nil {
			t.Fatalf("page %d: %v", page, err)
		}
		if !sameSents(bad, want) {
			t.Errorf("page %d: bad %v, want %v", page, names(bad), names(want))
		}
	}
}

func sameSents(a, b []remote.Sent) bool {
	return slices.Equal(names(a), names(b))
}

func names(s []remote.Sent) []string {
	out := make([]string, len(s))
	for i, x := range s {
		out[i] = x.Handle.String()
	}
	slices.Sort(out)
	return out
}
