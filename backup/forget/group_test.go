package forget

import (
	"slices"
	"testing"
	"time"

	"github.com/cairn-backup/cairn/internal/repo"
)

func TestParseGroupBy(t *testing.T) {
	for in, want := range map[string]GroupBy{
		"": {}, "host,paths": DefaultGroupBy, "tags": {Tags: true}, "host, path,tag": {true, true, true}, "hosts,,": {Host: true},
	} {
		if got, err := ParseGroupBy(in); err != nil || got != want {
			t.Errorf("ParseGroupBy(%q) = %+v, %v", in, got, err)
		}
	}
	if _, err := ParseGroupBy("host,user"); err == nil {
		t.Error("unknown field accepted")
	}
}

func TestGroup(t *testing.T) {
	t0 := time.Date(2024, 5, 1, 0, 0, 0, 0, time.UTC)
	mk := func(h int, host string, paths, tags []string) repo.Snapshot {
		s := snapAt(t0.Add(time.Duration(h)*time.Hour), tags...)
		s.Host, s.Paths = host, paths
		return s
	}
	snaps := []repo.Snapshot{
		mk(0, "b", []string{"/x", "/a"}, []string{"t"}),
		mk(1, "a", []string{"/x"}, nil),
		mk(2, "b", []string{"/a", "/x"}, nil),
		mk(3, "a", []string{"/x"}, []string{"u", "t"}),
	}
	var headers []string
	var sizes []int
	for _, g := range Group(snaps, DefaultGroupBy) {
		headers = append(headers, g.Key.String())
		sizes = append(sizes, len(g.Snapshots))
	}
	if want := []string{"host [a], paths [/x]", "host [b], paths [/a, /x]"}; !slices.Equal(headers, want) || !slices.Equal(sizes, []int{2, 2}) {
		t.Errorf("host,paths: %q %v", headers, sizes)
	}
	headers = nil
	for _, g := range Group(snaps, GroupBy{Tags: true}) {
		headers = append(headers, g.Key.String())
	}
	if want := []string{"tags []", "tags [t]", "tags [t, u]"}; !slices.Equal(headers, want) {
		t.Errorf("tags: %q", headers)
	}
	if gs := Group(snaps, GroupBy{}); len(gs) != 1 || gs[0].Key.String() != "" || !sameIDs(gs[0].Snapshots, snaps) {
		t.Errorf("no grouping: %+v", gs)
	}
}
