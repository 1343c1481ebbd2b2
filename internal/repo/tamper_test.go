package repo

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/cairn-backup/cairn/internal/crypto"
	"github.com/cairn-backup/cairn/internal/digest"
	"github.com/cairn-backup/cairn/internal/pack"
	"github.com/cairn-backup/cairn/remote"
	"github.com/cairn-backup/cairn/remote/remotetest"
)

// fixture is a repository holding one data blob, one tree blob and one snapshot.
type fixture struct {
	st       *remotetest.Mem
	opts     Options
	data     []byte
	dataID   digest.ID
	snapshot digest.ID
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	ctx := context.Background()
	f := &fixture{st: remotetest.NewMem(), opts: testOptions(t, "pw"), data: bytes.Repeat([]byte("chunk "), 1000)}
	r := initRepo(t, f.st, f.opts)
	var err error
	if f.dataID, _, err = session(r).SaveBlob(ctx, pack.Data, f.data); err != nil {
		t.Fatal(err)
	}
	if _, _, err = session(r).SaveBlob(ctx, pack.Tree, []byte("a tree node")); err != nil {
		t.Fatal(err)
	}
	if err := session(r).Flush(ctx); err != nil {
		t.Fatal(err)
	}
	if f.snapshot, err = r.SaveSnapshot(ctx, []byte(`{"snapshot":1}`)); err != nil {
		t.Fatal(err)
	}
	return f
}

// open reopens the repository without a cache, so that tampering is seen.
func (f *fixture) open(t *testing.T) *Repo {
	t.Helper()
	opts := f.opts
	opts.CacheDir = ""
	r, err := Open(context.Background(), f.st, opts)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func (f *fixture) object(t *testing.T, typ remote.Type) (remote.Handle, []byte) {
	t.Helper()
	var h remote.Handle
	_ = f.st.List(context.Background(), typ, func(i remote.Info) error {
		h = remote.Handle{Type: typ, Name: i.Name}
		return nil
	})
	data, err := remote.ReadAll(context.Background(), f.st, h, 0, 0, 1<<30)
	if err != nil {
		t.Fatal(err)
	}
	return h, data
}

func (f *fixture) dataPack(t *testing.T, r *Repo) remote.Handle {
	t.Helper()
	if err := r.LoadIndex(context.Background()); err != nil {
		t.Fatal(err)
	}
	loc, ok := r.idx.Lookup(0, f.dataID)
	if !ok {
		t.Fatal("data blob not indexed")
	}
	return remote.Handle{Type: remote.Data, Name: loc.Pack.String()}
}

func put(t *testing.T, st remote.Storage, h remote.Handle, data []byte) {
	t.Helper()
	if err := st.Put(context.Background(), h, remote.Bytes(data)); err != nil {
		t.Fatal(err)
	}
}

func TestTamperDataPack(t *testing.T) {
	ctx := context.Background()
	cases := map[string]func([]byte) []byte{
		"flipped byte": func(b []byte) []byte { c := bytes.Clone(b); c[len(c)/4] ^= 1; return c },
		"truncated":    func(b []byte) []byte { return b[:len(b)/3] },
		"empty":        func(b []byte) []byte { return nil },
	}
	for name, mutate := range cases {
		t.Run(name, func(t *testing.T) {
			f := newFixture(t)
			r := f.open(t)
			h := f.dataPack(t, r)
			data, _ := remote.ReadAll(ctx, f.st, h, 0, 0, 1<<30)
			put(t, f.st, h, mutate(data))
			_, err := r.LoadBlob(ctx, pack.Data, f.dataID)
			if err == nil {
				t.Fatal("damaged pack read back without error")
			}
			if !bytes.Contains([]byte(err.Error()), []byte(h.Name[:8])) {
				t.Fatalf("error does not name the pack %s: %v", h.Name[:8], err)
			}
		})
	}
}

func TestPackFromOtherRepository(t *testing.T) {
	ctx := context.Background()
	a, b := newFixture(t), newFixture(t)
	ra, rb := a.open(t), b.open(t)
	ha, hb := a.dataPack(t, ra), b.dataPack(t, rb)
	other, _ := remote.ReadAll(ctx, b.st, hb, 0, 0, 1<<30)
	put(t, a.st, ha, other) // same blob, same layout, other repository's key and id
	if _, err := ra.LoadBlob(ctx, pack.Data, a.dataID); !errors.Is(err, crypto.ErrAuth) {
		t.Fatalf("pack of another repository: err = %v, want ErrAuth", err)
	}
}

func TestTamperSealedObjects(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t)
	r := f.open(t)
	h, snap := f.object(t, remote.Snapshot)

	other := digest.Of([]byte("another name"))
	put(t, f.st, remote.Handle{Type: remote.Snapshot, Name: other.String()}, snap)
	if _, err := r.LoadSnapshot(ctx, other); !errors.Is(err, crypto.ErrAuth) {
		t.Errorf("snapshot copied under another id: err = %v, want ErrAuth", err)
	}

	flipped := bytes.Clone(snap)
	flipped[len(flipped)-1] ^= 0x80
	put(t, f.st, h, flipped)
	if _, err := r.LoadSnapshot(ctx, f.snapshot); !errors.Is(err, crypto.ErrAuth) {
		t.Errorf("flipped snapshot: err = %v, want ErrAuth", err)
	}

	put(t, f.st, h, snap[:len(snap)-5])
	if _, err := r.LoadSnapshot(ctx, f.snapshot); !errors.Is(err, crypto.ErrAuth) {
		t.Errorf("truncated snapshot: err = %v, want ErrAuth", err)
	}

	// A snapshot record retyped as an index segment must not load as one: it is
	// skipped and named as damage, and the rest of the index still loads.
	put(t, f.st, remote.Handle{Type: remote.Index, Name: h.Name}, snap)
	fresh := f.open(t)
	if err := fresh.LoadIndex(ctx); err != nil {
		t.Fatalf("snapshot retyped as index: LoadIndex: %v, want it skipped", err)
	}
	dmg := fresh.IndexDamage()
	if len(dmg) != 1 || !errors.Is(dmg[0], crypto.ErrAuth) || !bytes.Contains([]byte(dmg[0].Error()), []byte("index/"+h.Name)) {
		t.Errorf("snapshot retyped as index: damage = %v, want one ErrAuth naming index/%s", dmg, h.Name[:8])
	}
}

func TestSnapshotFromOtherRepository(t *testing.T) {
	ctx := context.Background()
	a, b := newFixture(t), newFixture(t)
	hb, snap := b.object(t, remote.Snapshot)
	put(t, a.st, hb, snap)
	id, _ := digest.Parse(hb.Name)
	if _, err := a.open(t).LoadSnapshot(ctx, id); !errors.Is(err, crypto.ErrAuth) {
		t.Fatalf("snapshot of another repository: err = %v, want ErrAuth", err)
	}
}

func TestKeyFileReplaced(t *testing.T) {
	ctx := context.Background()
	a, b := newFixture(t), newFixture(t) // same password
	ha, _ := a.object(t, remote.Key)
	hb, keyB := b.object(t, remote.Key)
	if err := a.st.Delete(ctx, ha); err != nil {
		t.Fatal(err)
	}
	put(t, a.st, hb, keyB)
	_, err := Open(ctx, a.st, a.opts)
	if !errors.Is(err, ErrCorrupt) || !bytes.Contains([]byte(err.Error()), []byte("another repository")) {
		t.Fatalf("foreign key file: err = %v", err)
	}

	// A key file edited in place no longer matches its name.
	edited := bytes.Replace(keyB, []byte(`"version"`), []byte(` "version"`), 1)
	put(t, b.st, hb, edited)
	if _, err := Open(ctx, b.st, b.opts); !errors.Is(err, ErrCorrupt) {
		t.Fatalf("edited key file: err = %v, want ErrCorrupt", err)
	}
}

func TestPinRefusesSwappedRepository(t *testing.T) {
	ctx := context.Background()
	a, b := newFixture(t), newFixture(t)
	f := a.open(t) // pins a's identity for location "mem"
	_ = f
	// Replace a's whole content with b's (same location, same password).
	for _, typ := range remote.Types {
		_ = b.st.List(ctx, typ, func(i remote.Info) error {
			h := remote.Handle{Type: typ, Name: i.Name}
			data, _ := remote.ReadAll(ctx, b.st, h, 0, 0, 1<<30)
			put(t, a.st, h, data)
			return nil
		})
	}
	if _, err := Open(ctx, a.st, a.opts); !errors.Is(err, ErrIdentity) {
		t.Fatalf("swapped repository: err = %v, want ErrIdentity", err)
	}
	if err := ForgetPin(a.opts.StateDir, a.st.Location()); err != nil {
		t.Fatal(err)
	}
	if _, err := Open(ctx, a.st, a.opts); err != nil {
		t.Fatalf("after forget-pin: %v", err)
	}
}

// One damaged byte in a pack of manifest nodes costs only the node it is in: the other
// nodes of the pack still load, with no cache to fall back on, and the damaged one is
// reported as damage naming the pack.
func TestDamagedTreePackLosesOneNode(t *testing.T) {
	ctx := context.Background()
	st := remotetest.NewMem()
	opts := testOptions(t, "pw")
	w := initRepo(t, st, opts)
	var ids []digest.ID
	for i := range 5 {
		id, _, err := session(w).SaveBlob(ctx, pack.Tree, bytes.Repeat([]byte{byte('a' + i)}, 3000))
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, id)
	}
	if err := session(w).Flush(ctx); err != nil {
		t.Fatal(err)
	}
	opts.CacheDir = ""
	r, err := Open(ctx, st, opts)
	if err != nil {
		t.Fatal(err)
	}
	if err := r.LoadIndex(ctx); err != nil {
		t.Fatal(err)
	}
	bad, _ := r.idx.Lookup(1, ids[2])
	h := remote.Handle{Type: remote.Data, Name: bad.Pack.String()}
	data, _ := remote.ReadAll(ctx, st, h, 0, 0, 1<<30)
	data[bad.Offset+bad.Length/2] ^= 1
	put(t, st, h, data)
	for i, id := range ids {
		plain, err := r.LoadBlob(ctx, pack.Tree, id)
		switch {
		case i == 2 && (!IsDamage(err) || !bytes.Contains([]byte(err.Error()), []byte(h.Name[:8]))):
			t.Errorf("damaged node: err = %v, want damage naming pack %s", err, h.Name[:8])
		case i != 2 && (err != nil || !bytes.Equal(plain, bytes.Repeat([]byte{byte('a' + i)}, 3000))):
			t.Errorf("sound node %d of the damaged pack: %v", i, err)
		}
	}
}

// A key file asking for more than a client spends on opening one is refused, by its
// name and the parameter, and the KDF is not run.
func TestKeyFileOverCostBound(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t)
	h, data := f.object(t, remote.Key)
	hostile := bytes.Replace(data, []byte(`"memory_kib": 8192`), []byte(`"memory_kib": 4194304`), 1)
	if bytes.Equal(hostile, data) {
		t.Fatal("fixture key file does not have the expected memory_kib")
	}
	if err := f.st.Delete(ctx, h); err != nil {
		t.Fatal(err)
	}
	name := digest.Of(hostile).String()
	put(t, f.st, remote.Handle{Type: remote.Key, Name: name}, hostile)
	_, err := Open(ctx, f.st, f.opts)
	if !errors.Is(err, crypto.ErrKeyFile) || !strings.Contains(err.Error(), name) || !strings.Contains(err.Error(), "memory_kib") {
		t.Fatalf("key file over the cost bound: err = %v, want ErrKeyFile naming %s and memory_kib", err, name)
	}
}
