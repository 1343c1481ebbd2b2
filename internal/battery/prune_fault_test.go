package battery

import (
	"context"
	"github.com/cairn-backup/cairn/internal/clitest"
	"path/filepath"
	"strings"
	"testing"

	"github.com/cairn-backup/cairn/remote"
	"github.com/cairn-backup/cairn/remote/s3/s3test"
)

// A listing that fails (500, 404), comes back empty, or is cut short is never "no
// objects": forget and prune stop and delete nothing (RELIABILITY 6).
func TestListingFaultsDuringForgetAndPrune(t *testing.T) {
	srv := s3test.Need(t)
	proxy, err := s3test.StartFaultProxy(t.Context(), s3test.Config{Upstream: srv.Endpoint})
	if err != nil {
		t.Fatal(err)
	}
	defer proxy.Close()
	// The client always goes through the proxy, so that it knows the snapshots it
	// made: its history is kept per location.
	c := clitest.NewS3(t, cairnBin, srv, proxy.URL)
	c.OK("init", "--pack-size", "1")
	src := filepath.Join(t.TempDir(), "src")
	for i := range 4 {
		clitest.BigRandomFiles(t, src, 2, 300<<10, uint64(40+i))
		c.OK("backup", "-q", src)
	}
	c.OK("forget", "--keep-last", "3") // prune has one snapshot's packs to delete
	_, path, _ := strings.Cut(strings.TrimPrefix(c.Direct, "s3:"+srv.Endpoint+"/"), "/")
	kinds := []s3test.Kind{s3test.ServerError, s3test.NotFound, s3test.EmptyList, s3test.ShortList}
	cases := []struct {
		args    []string
		folders []string
	}{
		{[]string{"forget", "--keep-last", "1"}, []string{"snapshots"}},
		// With no mark record in the repository an empty marks/ is the truth: only
		// failing listings of it are lies.
		{[]string{"prune", "--grace", "10s"}, []string{"snapshots", "index", "data", "marks"}},
	}
	for _, tc := range cases {
		for _, folder := range tc.folders {
			for _, k := range kinds {
				if folder == "marks" && (k == s3test.EmptyList || k == s3test.ShortList) {
					continue
				}
				t.Run(tc.args[0]+"/"+folder+"/"+k.String(), func(t *testing.T) {
					listingFault(t, c, proxy, path+"/"+folder+"/", k, tc.args)
				})
			}
		}
	}
}

// listingFault runs args through a proxy that answers every listing under prefix with
// k: the command must fail and leave every object in place.
func listingFault(t *testing.T, c *clitest.CLI, proxy *s3test.FaultProxy, prefix string, k s3test.Kind, args []string) {
	proxy.ScriptList(prefix, k, 1000)
	defer proxy.EndScripts()
	fired := proxy.Fired(k)
	pc := &clitest.CLI{T: t, Bin: c.Bin, Repo: c.Repo, Direct: c.Direct, Env: c.Env}
	before := s3Objects(t, pc)
	r := pc.Run(append(args, "--retry-budget", "1s")...)
	after := s3Objects(t, pc)
	if proxy.Fired(k) == fired {
		t.Fatalf("%s never listed %s: the case proves nothing", args[0], prefix)
	}
	for name := range before {
		if !after[name] {
			t.Errorf("%s deleted %s", args[0], name)
		}
	}
	if r.Code == 0 {
		t.Errorf("%s with a %v listing of %s: exit 0, want a refusal\n%s", args[0], k, prefix, r.Stdout)
	}
	t.Logf("exit %d: %s", r.Code, strings.TrimSpace(r.Stderr))
}

// s3Objects names every object of the repository's snapshots, index, data, marks and
// state, read directly from MinIO.
func s3Objects(t *testing.T, c *clitest.CLI) map[string]bool {
	t.Helper()
	st := c.Store(t)
	defer st.Close()
	out := map[string]bool{}
	for _, typ := range []remote.Type{remote.Snapshot, remote.Index, remote.Data, remote.Mark, remote.State} {
		err := st.List(context.Background(), typ, func(i remote.Info) error {
			out[string(typ)+"/"+i.Name] = true
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	return out
}
