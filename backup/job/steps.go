package job

import (
	"context"
	"fmt"
	"path/filepath"
	"strconv"
	"time"
)

// repository runs the steps on the repository: backup, forget, prune when due,
// verify. A step that fails (other than a partial backup) ends the sequence.
func (j *run) repository(ctx context.Context) {
	var r Repository
	err := j.step("open", func() (err error) { r, err = j.cfg.Open(ctx); return err })
	if err != nil {
		j.fail(err, j.cfg.Code(err))
		j.skip("backup", "forget", "prune", "verify")
		return
	}
	defer r.Close()
	steps := []struct {
		name string
		fn   func() error
	}{
		{"backup", func() error { return r.Backup(ctx, j.out) }},
		{"forget", j.forget(ctx, r)},
		{"prune", j.prune(ctx, r)},
		{"verify", j.verify(ctx, r)},
	}
	for i, s := range steps {
		if err := j.step(s.name, s.fn); err != nil {
			code := j.cfg.Code(err)
			j.fail(err, code)
			if code != codePartial || s.name != "backup" {
				for _, rest := range steps[i+1:] {
					j.skip(rest.name)
				}
				break
			}
		}
	}
	r.Describe(ctx, j.out)
}

func (j *run) forget(ctx context.Context, r Repository) func() error {
	return func() error {
		if j.p.Retention.Empty() {
			j.markSkipped()
			return nil
		}
		return r.Forget(ctx)
	}
}

// markSkipped turns the step being recorded into a skipped one (called inside it).
func (j *run) markSkipped() { j.skipNext = true }

func (j *run) prune(ctx context.Context, r Repository) func() error {
	return func() error {
		path := filepath.Join(j.cfg.StateDir, j.p.Name+".prune.json")
		st, err := loadPruneState(path)
		if err != nil {
			return err
		}
		due, err := j.pruneDue(ctx, r, st.Last)
		if err != nil || !due {
			if !due {
				j.markSkipped()
			}
			return err
		}
		if err := r.Prune(ctx); err != nil {
			return err
		}
		j.out.Pruned = true
		return savePruneState(path, pruneState{Last: j.cfg.now()})
	}
}

// pruneDue: the interval has passed since the last prune (less an eighth, so that a
// nightly run starting a little earlier than last time does not wait a day), or the
// unused share passes the profile's.
func (j *run) pruneDue(ctx context.Context, r Repository, last time.Time) (bool, error) {
	if every := j.p.PruneEvery; every > 0 && (last.IsZero() || j.cfg.now().Sub(last) >= every-every/8) {
		return true, nil
	}
	if j.p.PruneUnused <= 0 {
		return false, nil
	}
	share, err := r.UnusedShare(ctx)
	if err != nil {
		return false, fmt.Errorf("unused space: %w", err)
	}
	return share > j.p.PruneUnused, nil
}

func (j *run) verify(ctx context.Context, r Repository) func() error {
	return func() error {
		v := j.p.Verify
		if !v.Enabled() {
			j.markSkipped()
			return nil
		}
		plan := VerifyPlan{SinceLast: v.SinceLast}
		if v.ReadDataDays > 0 {
			n, m, err := NextSlice(j.cfg.StateDir, j.p.Name, v.ReadDataDays)
			if err != nil {
				return err
			}
			plan.SliceN, plan.SliceM = n, m
		}
		err := r.Verify(ctx, plan)
		switch {
		case err == nil:
			j.out.Verify = "ok"
		case j.cfg.Code(err) == codeDamage:
			j.out.Verify = "damaged"
		default:
			j.out.Verify = "failed"
			return err // the slice was not read through: the next run reads it again
		}
		if plan.SliceM > 0 {
			if serr := advanceSlice(j.cfg.StateDir, j.p.Name, plan.SliceN, plan.SliceM); serr != nil && err == nil {
				return serr
			}
		}
		return err
	}
}

func itoa(n int) string { return strconv.Itoa(n) }
