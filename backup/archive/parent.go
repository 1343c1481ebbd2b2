package archive

import (
	"fmt"
	"slices"

	"github.com/cairn-backup/cairn/internal/digest"
	"github.com/cairn-backup/cairn/internal/repo"
)

// sameGroup reports whether a snapshot was taken of the same host and paths: such
// snapshots form one history (the hash chain) and one is the parent of the next.
func sameGroup(s repo.Snapshot, opts Options) bool {
	return s.Host == opts.Host && slices.Equal(s.Paths, opts.Paths)
}

// latest returns the newest snapshot of the group, or nil.
func latest(snaps []repo.Snapshot, opts Options) *repo.Snapshot {
	for i := len(snaps) - 1; i >= 0; i-- {
		if sameGroup(snaps[i], opts) {
			return &snaps[i]
		}
	}
	return nil
}

func chooseParent(snaps []repo.Snapshot, opts Options) (*repo.Snapshot, error) {
	if opts.Parent == nil {
		if opts.Force {
			return nil, nil
		}
		return latest(snaps, opts), nil
	}
	for i := range snaps {
		if snaps[i].ID == *opts.Parent {
			return &snaps[i], nil
		}
	}
	return nil, fmt.Errorf("parent snapshot %s not found", opts.Parent.Short())
}

func previous(snaps []repo.Snapshot, opts Options) *digest.ID {
	if p := latest(snaps, opts); p != nil {
		return &p.ID
	}
	return nil
}
