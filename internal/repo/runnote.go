package repo

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/cairn-backup/cairn/internal/crypto"
	"github.com/cairn-backup/cairn/internal/digest"
	"github.com/cairn-backup/cairn/remote"
	"golang.org/x/sync/errgroup"
)

// Run notes (locks/<random id>) say that a backup or prune is running. They are not
// locks: nothing waits for one and nobody breaks one. A prune deletes packs it marked
// in the same run only when no fresh note of another run is listed, and learns the
// storage's time from its own note (docs/prune.md). Stale notes are removed by prune.

// RunNote is a note this process wrote.
type RunNote struct {
	r      *Repo
	h      remote.Handle
	acked  chan struct{}  // BeginRun: closed once the storage answered the note's PUT
	putErr error          // of that PUT, set before acked is closed
	sent   errgroup.Group // BeginRun: the note's upload and its check
	ended  sync.Once
	err    error // of End
}

type runNoteBody struct {
	Command string    `json:"command"`
	Host    string    `json:"host"`
	PID     int       `json:"pid"`
	Start   time.Time `json:"start"` // this host's clock, for people only
}

// StartRun writes a run note for command and checks that the storage holds it.
func (r *Repo) StartRun(ctx context.Context, command string) (*RunNote, error) {
	n, sealed, err := r.newRunNote(command)
	if err != nil {
		return nil, err
	}
	n.start(ctx, sealed)
	if err := n.Confirm(ctx); err != nil {
		return nil, err
	}
	return n, nil
}

// BeginRun sends a run note for command in the background, for a backup, or takes
// the note Open sent early (Options.EarlyLists). The backup lists marks and packs only
// once the storage acknowledged the note (stored.list), and its check after writing
// waits for the note's check (docs/prune.md, "Which requests may go side by side").
func (r *Repo) BeginRun(ctx context.Context, command string) (*RunNote, error) {
	n := r.early.takeNote()
	if n == nil {
		var sealed []byte
		var err error
		if n, sealed, err = r.newRunNote(command); err != nil {
			return nil, err
		}
		n.start(ctx, sealed)
	}
	if r.stored != nil {
		r.stored.note = n
	}
	return n, nil
}

func (r *Repo) newRunNote(command string) (*RunNote, []byte, error) {
	n, id, err := r.emptyRunNote()
	if err != nil {
		return nil, nil, err
	}
	plain, err := json.Marshal(runNoteBody{Command: command, Host: r.opts.Host, PID: os.Getpid(), Start: r.opts.now().UTC()})
	if err != nil {
		return nil, nil, err
	}
	sealed := r.key.Seal(nil, plain, crypto.AD(r.cfg.ID, string(remote.Lock), id[:]))
	return n, sealed, nil
}

// emptyRunNote names a new note; a backup's early note (sent before the key is
// derived) has no content: only its existence and time matter (docs/format.md).
func (r *Repo) emptyRunNote() (*RunNote, digest.ID, error) {
	var id digest.ID
	if _, err := rand.Read(id[:]); err != nil {
		return nil, id, err
	}
	return &RunNote{r: r, h: remote.Handle{Type: remote.Lock, Name: id.String()}, acked: make(chan struct{})}, id, nil
}

// start uploads body as the note in the background, then checks it. A note the check
// sends again was stored only after the marks listing that followed the PUT, so a
// prune deleting at once may have missed it: the run's check after writing then
// honours every mark record that appeared since its listing (docs/prune.md).
func (n *RunNote) start(ctx context.Context, body []byte) {
	n.sent.Go(func() error {
		up, err := n.r.upload(ctx, n.h, body)
		n.putErr = err
		close(n.acked)
		if err != nil {
			return fmt.Errorf("write run note: %w", err)
		}
		resent, err := up.Confirm(ctx)
		if resent {
			n.r.noteLate.Store(true)
		}
		if err != nil {
			return fmt.Errorf("write run note: %w", err)
		}
		return nil
	})
}

// stored waits until the storage acknowledged the note's PUT: what lists marks for a
// backup must list after that (docs/prune.md).
func (n *RunNote) stored(ctx context.Context) error {
	if n == nil || n.acked == nil {
		return nil
	}
	select {
	case <-n.acked:
		if n.putErr != nil {
			return fmt.Errorf("write run note: %w", n.putErr)
		}
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Confirm waits for what BeginRun sent: nil once the storage holds the note.
func (n *RunNote) Confirm(context.Context) error { return n.sent.Wait() }

// StorageTime reads back the storage's time of the note: the storage's "now" when
// the run started, by the storage's own clock.
func (n *RunNote) StorageTime(ctx context.Context) (time.Time, error) {
	info, err := n.r.store.Stat(ctx, n.h)
	if err != nil {
		return time.Time{}, fmt.Errorf("read the storage's time: %w", err)
	}
	return info.ModTime, nil
}

// Name is the note's object name.
func (n *RunNote) Name() string { return n.h.Name }

// endSuffix names the note that says a run whose keys may not delete has ended:
// locks/<id>-end beside locks/<id>.
const endSuffix = "-end"

// End removes the note. Keys that may not delete (a put-only backup host) write an
// end note beside it instead, which counts as the note's removal (RunningNotes); prune
// removes both once they are older than the grace period. A note left behind by a
// crash only delays a prune's deleting at once until it is older than the grace period.
func (n *RunNote) End(ctx context.Context) error {
	_ = n.sent.Wait() // a note whose upload failed is deleted all the same
	n.ended.Do(func() { n.err = n.end(ctx) })
	return n.err
}

func (n *RunNote) end(ctx context.Context) error {
	err := n.r.store.Delete(ctx, n.h)
	if errors.Is(err, remote.ErrPermission) && n.r.key != nil {
		h := remote.Handle{Type: remote.Lock, Name: n.h.Name + endSuffix}
		sealed := n.r.key.Seal(nil, []byte("{}"), crypto.AD(n.r.cfg.ID, string(remote.Lock), []byte(h.Name)))
		if perr := n.r.store.Put(ctx, h, remote.Bytes(sealed)); perr != nil {
			return fmt.Errorf("end run note (its delete was refused: %w): %w", err, perr)
		}
		return nil
	}
	if err != nil {
		return fmt.Errorf("remove run note: %w", err)
	}
	return nil
}

// RunNotes lists every run note with the storage's time of it. A failed listing is an
// error, never "no runs".
func (r *Repo) RunNotes(ctx context.Context) ([]remote.Info, error) {
	var out []remote.Info
	err := r.store.List(ctx, remote.Lock, func(i remote.Info) error {
		out = append(out, i)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("list run notes: %w", err)
	}
	return out, nil
}

// RunningNotes lists the run notes of runs that may still be going: every note
// without an end note beside it (End).
func (r *Repo) RunningNotes(ctx context.Context) ([]remote.Info, error) {
	notes, err := r.RunNotes(ctx)
	if err != nil {
		return nil, err
	}
	ended := map[string]bool{}
	for _, n := range notes {
		if name, ok := strings.CutSuffix(n.Name, endSuffix); ok {
			ended[name] = true
		}
	}
	out := notes[:0]
	for _, n := range notes {
		if !ended[n.Name] && !strings.HasSuffix(n.Name, endSuffix) && !strings.HasSuffix(n.Name, probeSuffix) {
			out = append(out, n)
		}
	}
	return out, nil
}

// probeSuffix names the object CheckDelete writes and deletes: locks/<id>-probe.
const probeSuffix = "-probe"

// CheckDelete fails wrapping remote.ErrPermission when the storage's keys may not
// delete (a put-only backup host), before forget or prune write anything: it writes a
// small object and deletes it (two requests). A probe whose delete was refused stays
// in locks/ until a prune with keys that may delete removes it with the old notes.
func (r *Repo) CheckDelete(ctx context.Context) error {
	var id digest.ID
	if _, err := rand.Read(id[:]); err != nil {
		return err
	}
	h := remote.Handle{Type: remote.Lock, Name: id.String() + probeSuffix}
	sealed := r.key.Seal(nil, []byte("{}"), crypto.AD(r.cfg.ID, string(remote.Lock), []byte(h.Name)))
	if err := r.store.Put(ctx, h, remote.Bytes(sealed)); err != nil {
		return fmt.Errorf("check that these keys may delete: %w", err)
	}
	if err := r.store.Delete(ctx, h); err != nil {
		if errors.Is(err, remote.ErrPermission) {
			return fmt.Errorf("these storage keys may not delete (s3:DeleteObject), so forget and prune cannot run here; nothing was changed: %w", err)
		}
		return fmt.Errorf("check that these keys may delete: %w", err)
	}
	return nil
}

// DeleteRunNote removes a stale note of another run.
func (r *Repo) DeleteRunNote(ctx context.Context, name string) error {
	h := remote.Handle{Type: remote.Lock, Name: name}
	if err := r.store.Delete(ctx, h); err != nil {
		return fmt.Errorf("delete %s: %w", h, err)
	}
	return nil
}

// Reading announces a run that reads packs (a restore, a verify): a prune then leaves
// the packs it marks for a prune a grace period later instead of deleting them under
// the reader. It is best effort: a client that may not write (read-only credentials)
// reads all the same. Call the returned function when done.
func (r *Repo) Reading(ctx context.Context, command string) (done func()) {
	n, err := r.StartRun(ctx, command)
	if err != nil {
		return func() {}
	}
	return func() { _ = n.End(context.WithoutCancel(ctx)) }
}
