package main

import (
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/cairn-backup/cairn/remote/s3/s3test"
)

// smallFiles is more files than restore fetches in one batch (16,384 chunk uses), so
// that the restore below takes several batches, as a real one of small files does;
// with packs of 1 MiB each holds fewer files than a batch, however many packs the
// backup fills at once.
const smallFiles = 20_000

// TestS3RestoreOfSmallFilesReadsEachObjectOnce: a restore of many small files fetches
// every object it needs once. The bound is what restic needs too: the config, the key,
// the chosen snapshot record (read from the storage even with a cached copy), with a
// cold cache the index segments, the other snapshot records and the tree packs, and
// each data pack once, whole. A backup fills several packs at once, so a restore that
// fetched the files of its batches in tree order read every pack of the backup once
// per batch (twice here; a 100,000-file restore made 40 GETs where 17 do).
func TestS3RestoreOfSmallFilesReadsEachObjectOnce(t *testing.T) {
	srv := s3test.Need(t)
	var rec s3test.Spans
	proxy, err := s3test.StartFaultProxy(t.Context(), s3test.Config{Upstream: srv.Endpoint, CountOnly: true, Trace: rec.Trace})
	if err != nil {
		t.Fatal(err)
	}
	defer proxy.Close()
	c := newS3CLI(t, srv, proxy.URL)
	c.OK("init", "--pack-size", "1") // packs of a few thousand files, fewer than a batch
	src := filepath.Join(t.TempDir(), "src")
	writeSmallFiles(t, src, smallFiles)
	c.OK("backup", "-q", src)
	want := treeState(t, src)
	prefix := "/" + strings.TrimPrefix(c.Repo, "s3:"+proxy.URL+"/") + "/"

	for _, cold := range []bool{false, true} {
		u := *c
		if cold { // another machine: nothing cached
			u.Env = append(append([]string{}, c.Env...), "XDG_CACHE_HOME="+t.TempDir())
		}
		target := t.TempDir()
		rec.Record()
		u.OK("restore", "latest:"+src, "--target", target, "-q")
		gets := objectGets(rec.Stop(), prefix)
		sameState(t, want, treeState(t, target))
		var b strings.Builder
		for _, name := range sortedKeys(gets) {
			fmt.Fprintf(&b, "  %d %s\n", gets[name], name)
		}
		t.Logf("cold cache %v: %d objects read:\n%s", cold, len(gets), b.String())
		for name, n := range gets {
			if n > 1 {
				t.Errorf("cold cache %v: %s read %d times, want once", cold, name, n)
			}
			if !cold && strings.HasPrefix(name, "index/") {
				t.Errorf("warm cache: index segment %s read from the storage", name)
			}
		}
	}
}

// writeSmallFiles writes n files of 100 to 400 random bytes, 500 to a directory.
func writeSmallFiles(t *testing.T, dir string, n int) {
	t.Helper()
	rnd := rand.New(rand.NewPCG(7, 7))
	for i := range n {
		d := filepath.Join(dir, fmt.Sprintf("d%03d", i/500))
		if i%500 == 0 {
			if err := os.MkdirAll(d, 0o755); err != nil {
				t.Fatal(err)
			}
		}
		buf := make([]byte, 100+rnd.IntN(300))
		for j := range buf {
			buf[j] = byte(rnd.Uint32())
		}
		if err := os.WriteFile(filepath.Join(d, fmt.Sprintf("f%04d", i%500)), buf, 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// objectGets counts the GETs of each object of the repository under prefix, by its
// name in the repository (data/ab/ab…).
func objectGets(spans []s3test.Span, prefix string) map[string]int {
	out := map[string]int{}
	for _, s := range spans {
		if s.Op != s3test.OpGet {
			continue
		}
		name, _, _ := strings.Cut(strings.TrimPrefix(s.Target, prefix), "?")
		out[name]++
	}
	return out
}

func sortedKeys(m map[string]int) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
