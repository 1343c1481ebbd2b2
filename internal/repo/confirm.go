package repo

import (
	"context"
	"fmt"
	"time"

	"github.com/cairn-backup/cairn/internal/index"
	"github.com/cairn-backup/cairn/internal/pack"
	"github.com/cairn-backup/cairn/remote"
)

// A store that is a remote.Confirmer (S3) checks uploads in batches: one listing
// vouches for many packs where a HEAD per pack would cost a request each. A pack's
// temporary file is kept until its upload is confirmed, so that a pack the server
// lost is sent again within the same backup.
const (
	// confirmPacks is how many uploaded packs may wait for their check: 8 packs are
	// 128 MiB of temporary files at the default pack size.
	confirmPacks = 8
	// maxResends bounds how often one object is sent again before the backup fails.
	maxResends = 3
)

// sentPack is an uploaded pack whose blobs become known once it is confirmed.
type sentPack struct {
	sent    remote.Sent
	op      *openPack // its temporary file, for sending it again
	pack    index.Pack
	entries []pack.Entry
	at      time.Time // when its upload began
}

// sentSegment is a written index segment, kept until confirmed. Nothing depends on it
// before then: the snapshot is written after the last Confirm.
type sentSegment struct {
	sent   remote.Sent
	sealed []byte
}

// queue adds an uploaded pack; once confirmPacks wait, it returns them and the
// segments written so far for one Confirm.
func (s *Writer) queue(sp sentPack) ([]sentPack, []sentSegment) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.sent = append(s.sent, sp)
	if len(s.sent) < confirmPacks {
		return nil, nil
	}
	packs, segs := s.sent, s.sentSegs
	s.sent, s.sentSegs = nil, nil
	return packs, segs
}

// takeSent returns everything that waits for a check.
func (s *Writer) takeSent() ([]sentPack, []sentSegment) {
	s.mu.Lock()
	defer s.mu.Unlock()
	packs, segs := s.sent, s.sentSegs
	s.sent, s.sentSegs = nil, nil
	return packs, segs
}

// settle confirms what waits, writes the index segment of every checked pack (and
// again those found stored short), and confirms them too: afterwards a snapshot may
// name any saved blob.
func (s *Writer) settle(ctx context.Context) error {
	if err := s.storeShortAgain(ctx); err != nil {
		return err
	}
	packs, segs := s.takeSent()
	if err := s.confirm(ctx, packs, segs); err != nil {
		return err
	}
	s.mu.Lock()
	batch := s.pending
	s.pending = nil
	s.mu.Unlock()
	if err := s.writeSegment(ctx, batch); err != nil {
		return err
	}
	packs, segs = s.takeSent()
	return s.confirm(ctx, packs, segs)
}

// confirm checks packs and segments, sends again what the store does not hold whole,
// and indexes the packs found. It fails when an object is still missing after
// maxResends uploads.
func (s *Writer) confirm(ctx context.Context, packs []sentPack, segs []sentSegment) error {
	for round := 0; len(packs)+len(segs) > 0; round++ {
		bad, err := s.conf.Confirm(ctx, sentOf(packs, segs))
		if err != nil {
			return s.abandon(fmt.Errorf("confirm uploads: %w", err), packs)
		}
		missing := map[remote.Handle]bool{}
		for _, b := range bad {
			missing[b.Handle] = true
		}
		good, again := splitPacks(packs, missing)
		if err := s.indexed(ctx, good); err != nil {
			return s.abandon(err, again)
		}
		var segsAgain []sentSegment
		for _, sg := range segs {
			if missing[sg.sent.Handle] {
				segsAgain = append(segsAgain, sg)
			}
		}
		packs, segs = again, segsAgain
		if len(bad) == 0 {
			return nil
		}
		if round == maxResends {
			return s.abandon(fmt.Errorf("the storage acknowledged but does not hold %s (%d objects), after %d uploads",
				bad[0].Handle, len(bad), maxResends+1), packs)
		}
		if err := s.resend(ctx, packs, segs); err != nil {
			return s.abandon(err, packs)
		}
	}
	return nil
}

// resend uploads again the packs and segments the store did not hold.
func (s *Writer) resend(ctx context.Context, packs []sentPack, segs []sentSegment) error {
	for i := range packs {
		sent, err := s.conf.PutUnconfirmed(ctx, packs[i].sent.Handle, packs[i].op.body())
		if err != nil {
			return fmt.Errorf("upload pack %s again: %w", packs[i].pack.ID.Short(), err)
		}
		packs[i].sent = sent
	}
	for i := range segs {
		sent, err := s.conf.PutUnconfirmed(ctx, segs[i].sent.Handle, remote.Bytes(segs[i].sealed))
		if err != nil {
			return fmt.Errorf("write %s again: %w", segs[i].sent.Handle, err)
		}
		segs[i].sent = sent
	}
	return nil
}

// abandon gives up packs that could not be confirmed: their blobs are no longer in
// flight, and the next backup uploads them again.
func (s *Writer) abandon(err error, packs []sentPack) error {
	var entries []pack.Entry
	for _, sp := range packs {
		sp.op.discard()
		entries = append(entries, sp.entries...)
	}
	return s.fail(err, entries)
}

func splitPacks(packs []sentPack, missing map[remote.Handle]bool) (good, again []sentPack) {
	for _, sp := range packs {
		if missing[sp.sent.Handle] {
			again = append(again, sp)
		} else {
			good = append(good, sp)
		}
	}
	return good, again
}

func sentOf(packs []sentPack, segs []sentSegment) []remote.Sent {
	out := make([]remote.Sent, 0, len(packs)+len(segs))
	for _, sp := range packs {
		out = append(out, sp.sent)
	}
	for _, sg := range segs {
		out = append(out, sg.sent)
	}
	return out
}
