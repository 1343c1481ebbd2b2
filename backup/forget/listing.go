package forget

import (
	"context"
	"errors"
	"fmt"

	"github.com/cairn-backup/cairn/internal/digest"
	"github.com/cairn-backup/cairn/internal/repo"
)

// listSafely lists and reads every snapshot record, oldest first, and returns
// ErrUnsafeListing unless the result can be acted on: the listing succeeded, every
// record listed loaded and decoded, and every snapshot this client saw before is
// either listed or recorded as forgotten. A listing that fails, comes back short or
// empty must never read as "these are all the snapshots" (RELIABILITY 6): a policy
// applied to part of a group removes snapshots it would keep.
func listSafely(ctx context.Context, r *repo.Repo) ([]repo.Snapshot, error) {
	snaps, bad, err := r.LoadSnapshots(ctx)
	if err != nil {
		return nil, fmt.Errorf("%w: %w; nothing removed", ErrUnsafeListing, err)
	}
	if len(bad) > 0 {
		return nil, fmt.Errorf("%w: %s did not load (%w); nothing removed (run 'cairn verify')",
			ErrUnsafeListing, plural(len(bad), "snapshot record"), errors.Join(bad...))
	}
	if err := checkSeen(ctx, r, snaps); err != nil {
		return nil, err
	}
	return snaps, nil
}

// checkSeen returns ErrUnsafeListing if a snapshot this client saw before is neither
// listed nor recorded as forgotten by some forget.
func checkSeen(ctx context.Context, r *repo.Repo, snaps []repo.Snapshot) error {
	seen, err := r.SeenSnapshots()
	if err != nil {
		return fmt.Errorf("%w: %w; nothing removed", ErrUnsafeListing, err)
	}
	listed := make(map[digest.ID]bool, len(snaps))
	for _, s := range snaps {
		listed[s.ID] = true
	}
	var missing []digest.ID
	for _, id := range seen {
		if !listed[id] {
			missing = append(missing, id)
		}
	}
	if len(missing) == 0 {
		return nil
	}
	st, err := r.LoadState(ctx)
	if err != nil {
		return fmt.Errorf("%w: %s this client saw before not listed, and the forget records could not be read: %w; nothing removed",
			ErrUnsafeListing, plural(len(missing), "snapshot"), err)
	}
	var gone []digest.ID
	for _, id := range missing {
		if !st.Forgotten[id] {
			gone = append(gone, id)
		}
	}
	if len(gone) == 0 {
		return nil
	}
	return fmt.Errorf("%w: %s this client saw before (%s) %s not in the listing and no forget removed %s: "+
		"the listing is incomplete, or the repository's history was rolled back; nothing removed "+
		"(run 'cairn verify'; 'cairn verify --accept-history' accepts the snapshots present)",
		ErrUnsafeListing, plural(len(gone), "snapshot"), shortIDs(gone, 3), isAre(len(gone)), itThem(len(gone)))
}

func plural(n int, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return fmt.Sprintf("%d %ss", n, noun)
}

func isAre(n int) string {
	if n == 1 {
		return "is"
	}
	return "are"
}

func itThem(n int) string {
	if n == 1 {
		return "it"
	}
	return "them"
}

// shortIDs names up to n ids, and how many more there are.
func shortIDs(ids []digest.ID, n int) string {
	s := ""
	for i, id := range ids {
		if i == n {
			return s + fmt.Sprintf(" and %d more", len(ids)-n)
		}
		if i > 0 {
			s += ", "
		}
		s += id.Short()
	}
	return s
}
