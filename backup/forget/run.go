// Package forget is the forget engine: it decides, by restic's retention policies,
// which snapshots of each group to keep, and removes the records of the others.
//
// The decision (Decide, Apply) is a pure function of the snapshots, the policy, the
// grouping, the time zone and the current time. The run around it is careful about
// what it acts on: it deletes nothing after a listing that failed, a record that did
// not load, or a listing that lacks a snapshot this client saw before and that no
// forget recorded (an incomplete listing, or a history rolled back), and it refuses a
// policy that would empty a group or names a tag no snapshot has. Forgetting records
// the ids in a sealed state object before it deletes anything (docs/format.md), so
// verify tells the gap from damage. Data is left for prune.
package forget

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"slices"

	"github.com/cairn-backup/cairn/internal/digest"
	"github.com/cairn-backup/cairn/internal/repo"
)

// Errors a run returns before removing anything; all are fatal to the command.
var (
	// ErrNothingToDo: neither a policy nor snapshot ids were given.
	ErrNothingToDo = errors.New("no policy and no snapshots given, so nothing would be removed: name snapshots, or give --keep-* rules (like --keep-daily 7 --keep-weekly 4)")
	// ErrRefused: the policy would empty a group, or names a tag no snapshot has.
	ErrRefused = errors.New("refused")
	// ErrUnsafeListing: the snapshots could not all be listed and read, or the
	// listing lacks snapshots this client saw before.
	ErrUnsafeListing = errors.New("the snapshot listing cannot be trusted")
)

// Options of a run.
type Options struct {
	Rules
	Filter     repo.Filter
	IDs        []string // remove exactly these (ids, unique prefixes, "latest"), not by policy
	DryRun     bool     // decide and report, remove nothing
	AllowEmpty bool     // allow a policy to remove every snapshot of a group, or match no tag
}

// Check refuses options that cannot make a run: no policy and no ids, both, or an
// invalid policy. Run calls it; a command may call it before opening a repository.
func (o Options) Check() error {
	switch {
	case len(o.IDs) == 0 && o.Policy.Empty():
		return ErrNothingToDo
	case len(o.IDs) > 0 && !o.Policy.Empty():
		return errors.New("give snapshot ids or a policy (--keep-*), not both")
	}
	return o.Policy.Validate()
}

// Result is what a run removed, or with DryRun would remove.
type Result struct {
	Decisions []Decision      // by policy: one per group
	Removed   []repo.Snapshot // oldest first
	DryRun    bool
}

// Run lists and reads every snapshot, decides, and unless opts.DryRun removes the
// records decided on. On any error before the removal nothing has been removed.
func Run(ctx context.Context, r *repo.Repo, opts Options) (*Result, error) {
	if err := opts.Check(); err != nil {
		return nil, err
	}
	all, err := listSafely(ctx, r)
	if err != nil {
		return nil, err
	}
	snaps := opts.Filter.Select(all)
	res := &Result{DryRun: opts.DryRun}
	if len(opts.IDs) > 0 {
		if res.Removed, err = byID(snaps, opts.IDs); err != nil {
			return nil, err
		}
	} else {
		res.Decisions = Decide(snaps, opts.Rules)
		if err := refuse(snaps, res.Decisions, opts); err != nil {
			return nil, err
		}
		for _, d := range res.Decisions {
			res.Removed = append(res.Removed, d.Remove...)
		}
		sortOldestFirst(res.Removed)
	}
	if opts.DryRun || len(res.Removed) == 0 {
		return res, nil
	}
	ids := make([]digest.ID, len(res.Removed))
	for i, s := range res.Removed {
		ids[i] = s.ID
	}
	if err := r.ForgetSnapshots(ctx, ids); err != nil {
		return res, fmt.Errorf("forget: %w", err)
	}
	return res, nil
}

// byID resolves refs among snaps; each snapshot once, oldest first.
func byID(snaps []repo.Snapshot, refs []string) ([]repo.Snapshot, error) {
	var out []repo.Snapshot
	for _, ref := range refs {
		s, err := repo.Find(snaps, ref)
		if err != nil {
			return nil, fmt.Errorf("forget %s: %w; nothing removed", ref, err)
		}
		if !slices.ContainsFunc(out, func(o repo.Snapshot) bool { return o.ID == s.ID }) {
			out = append(out, s)
		}
	}
	sortOldestFirst(out)
	return out, nil
}

// refuse returns ErrRefused, unless opts.AllowEmpty, for a decision that removes
// every snapshot of a group, or a --keep-tag that no snapshot matches (a typo that
// would otherwise keep nothing it was meant to).
func refuse(snaps []repo.Snapshot, ds []Decision, opts Options) error {
	if opts.AllowEmpty {
		return nil
	}
	for _, tags := range opts.Policy.Tags {
		if len(snaps) > 0 && !slices.ContainsFunc(snaps, func(s repo.Snapshot) bool { return hasTags(s.Tags, tags) }) {
			return fmt.Errorf("%w: --keep-tag %s matches no snapshot (a typo?); nothing removed (--allow-empty to go on)",
				ErrRefused, tagList(tags))
		}
	}
	for _, d := range ds {
		if len(d.Keep) == 0 && len(d.Remove) > 0 {
			return fmt.Errorf("%w: the policy would remove all %d snapshots of %s; nothing removed (--allow-empty to go on)",
				ErrRefused, len(d.Remove), groupName(d.Key))
		}
	}
	return nil
}

func groupName(k Key) string {
	if s := k.String(); s != "" {
		return "the group (" + s + ")"
	}
	return "the repository"
}

func sortOldestFirst(snaps []repo.Snapshot) {
	slices.SortStableFunc(snaps, func(a, b repo.Snapshot) int {
		if c := a.Time.Compare(b.Time); c != 0 {
			return c
		}
		return bytes.Compare(a.ID[:], b.ID[:])
	})
}
