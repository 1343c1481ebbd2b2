package mount

import (
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/cairn-backup/cairn/internal/repo"
	"github.com/cairn-backup/cairn/manifest"
)

// TimeFormat names a snapshot's directory by its time, in local time, as restic does.
const TimeFormat = "2006-01-02T15:04:05Z07:00"

// item is one name of the synthetic directories above the snapshots: a snapshot's
// directory (Snap), a symbolic link (Link) or a directory of further items.
type item struct {
	Name     string
	Snap     *repo.Snapshot
	Link     string
	Children []item
	MTime    time.Time // a snapshot's time; for a directory, its newest snapshot's
}

// layout returns the top of the mount for snaps (oldest first), as restic's mount:
//
//	ids/<short id>/             each snapshot by id
//	snapshots/<time>/, latest   every snapshot by time, and a link to the newest
//	hosts/<host>/<time>/, latest
//	tags/<tag>/<time>/, latest  (snapshots without tags are in no tag)
func layout(snaps []repo.Snapshot, loc *time.Location) []item {
	return []item{
		dirItem("hosts", groups(snaps, loc, func(s repo.Snapshot) []string { return []string{s.Host} })),
		dirItem("ids", byID(snaps)),
		dirItem("snapshots", byTime(snaps, loc)),
		dirItem("tags", groups(snaps, loc, func(s repo.Snapshot) []string { return s.Tags })),
	}
}

func dirItem(name string, children []item) item {
	it := item{Name: name, Children: children}
	for _, c := range children {
		if c.MTime.After(it.MTime) {
			it.MTime = c.MTime
		}
	}
	return it
}

// byID names each snapshot by its short id, or by its full id where short ids clash.
func byID(snaps []repo.Snapshot) []item {
	count := map[string]int{}
	for _, s := range snaps {
		count[s.ID.Short()]++
	}
	out := make([]item, 0, len(snaps))
	for i := range snaps {
		name := snaps[i].ID.Short()
		if count[name] > 1 {
			name = snaps[i].ID.String()
		}
		out = append(out, item{Name: name, Snap: &snaps[i], MTime: snaps[i].Time})
	}
	slices.SortFunc(out, func(a, b item) int { return strings.Compare(a.Name, b.Name) })
	return out
}

// byTime names snapshots (oldest first) by their time; snapshots of the same second
// get "-1", "-2", … after the first. "latest" links to the newest.
func byTime(snaps []repo.Snapshot, loc *time.Location) []item {
	out := make([]item, 0, len(snaps)+1)
	seen := map[string]int{}
	for i := range snaps {
		name := snaps[i].Time.In(loc).Format(TimeFormat)
		if n := seen[name]; n > 0 {
			seen[name]++
			name += "-" + strconv.Itoa(n)
		} else {
			seen[name] = 1
		}
		out = append(out, item{Name: name, Snap: &snaps[i], MTime: snaps[i].Time})
	}
	if len(out) > 0 {
		newest := out[len(out)-1]
		out = append(out, item{Name: "latest", Link: newest.Name, MTime: newest.MTime})
	}
	return out
}

// groups puts each snapshot under every key keys gives it, each group named by time.
func groups(snaps []repo.Snapshot, loc *time.Location, keys func(repo.Snapshot) []string) []item {
	members := map[string][]repo.Snapshot{}
	var names []string
	for _, s := range snaps {
		for _, k := range keys(s) {
			k = safeName(k)
			if _, ok := members[k]; !ok {
				names = append(names, k)
			}
			if !slices.ContainsFunc(members[k], func(m repo.Snapshot) bool { return m.ID == s.ID }) {
				members[k] = append(members[k], s)
			}
		}
	}
	slices.Sort(names)
	out := make([]item, 0, len(names))
	for _, k := range names {
		out = append(out, dirItem(k, byTime(members[k], loc)))
	}
	return out
}

// safeName turns a host or tag into one path component.
func safeName(s string) string {
	s = strings.ReplaceAll(strings.ReplaceAll(s, "/", "_"), "\x00", "_")
	if !manifest.ValidName(s) {
		return "_" + s
	}
	return s
}
