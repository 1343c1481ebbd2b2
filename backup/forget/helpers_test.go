package forget

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"
	_ "time/tzdata" // the zones below on any machine

	"github.com/cairn-backup/cairn/internal/digest"
	"github.com/cairn-backup/cairn/internal/repo"
	"github.com/cairn-backup/cairn/manifest"
)

func zone(t testing.TB, name string) *time.Location {
	t.Helper()
	loc, err := time.LoadLocation(name)
	if err != nil {
		t.Fatal(err)
	}
	return loc
}

// snapAt makes a snapshot of host h and path /p at t; its id is derived from t and
// the tags, so equal inputs make equal snapshots.
func snapAt(t time.Time, tags ...string) repo.Snapshot {
	return repo.Snapshot{
		ID:       digest.Of([]byte(t.UTC().Format(time.RFC3339Nano) + strings.Join(tags, ","))),
		Snapshot: &manifest.Snapshot{Version: 1, Time: t.UTC(), Host: "h", Paths: []string{"/p"}, Tags: tags},
	}
}

// series makes snapshots at the local times given ("2006-01-02 15:04") in loc, in
// the order given; a time may carry tags after a '+': "2024-01-01 10:00+a+b".
func series(t testing.TB, loc *time.Location, at ...string) []repo.Snapshot {
	t.Helper()
	var out []repo.Snapshot
	for _, a := range at {
		parts := strings.Split(a, "+")
		tm, err := time.ParseInLocation("2006-01-02 15:04", parts[0], loc)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, snapAt(tm, parts[1:]...))
	}
	sortOldestFirst(out)
	return out
}

// localTimes names snapshots by their time in loc, oldest first.
func localTimes(snaps []repo.Snapshot, loc *time.Location) []string {
	out := make([]string, len(snaps))
	for i, s := range snaps {
		out[i] = s.Time.In(loc).Format("2006-01-02 15:04 MST")
	}
	return out
}

func keptSnaps(keep []Kept) []repo.Snapshot {
	out := make([]repo.Snapshot, len(keep))
	for i, k := range keep {
		out[i] = k.Snapshot
	}
	return out
}

// reasonsByTime maps "15:04"-style local times to reasons joined by "; ".
func reasonsByTime(keep []Kept, loc *time.Location, layout string) map[string]string {
	m := map[string]string{}
	for _, k := range keep {
		m[k.Snapshot.Time.In(loc).Format(layout)] = strings.Join(k.Reasons, "; ")
	}
	return m
}

func sameIDs(a, b []repo.Snapshot) bool {
	return slices.EqualFunc(a, b, func(x, y repo.Snapshot) bool { return x.ID == y.ID })
}

func describe(snaps []repo.Snapshot) string {
	var b strings.Builder
	for _, s := range snaps {
		fmt.Fprintf(&b, "%s %v\n", s.Time.Format(time.RFC3339), s.Tags)
	}
	return b.String()
}
