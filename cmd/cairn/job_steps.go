package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/cairn-backup/cairn/backup/archive"
	"github.com/cairn-backup/cairn/backup/forget"
	"github.com/cairn-backup/cairn/backup/job"
	"github.com/cairn-backup/cairn/backup/prune"
	"github.com/cairn-backup/cairn/backup/verify"
	"github.com/cairn-backup/cairn/internal/digest"
	"github.com/cairn-backup/cairn/internal/monitor"
	"github.com/cairn-backup/cairn/internal/profile"
	"github.com/cairn-backup/cairn/internal/repo"
)

// jobGlobals are the global options of a profile's job: the profile's repository,
// password source and S3 settings instead of the flags and environment's.
func jobGlobals(g *globals, p *profile.Profile) (*globals, error) {
	jg := *g
	jg.limitUpload, jg.limitDownload = int64(p.LimitUpload), int64(p.LimitDownload)
	jg.repo = p.Repository
	if p.PasswordFile != "" || p.PasswordCommand != "" || p.Password != "" {
		jg.passwordFile, jg.passwordCmd, jg.passwordInline = p.PasswordFile, p.PasswordCommand, nil
		if p.Password != "" {
			jg.passwordInline = []byte(p.Password)
		}
	}
	s := p.S3
	if s.Region != "" {
		jg.s3Region = s.Region
	}
	if len(s.CACerts) > 0 {
		jg.caCerts = s.CACerts
	}
	if s.TLSClientCert != "" {
		jg.clientCert = s.TLSClientCert
	}
	if s.RetryBudget != "" {
		d, err := time.ParseDuration(s.RetryBudget)
		if err != nil {
			return nil, fmt.Errorf("profile %s: s3.retry-budget: %w", p.Name, err)
		}
		jg.retryBudget = d
	}
	return &jg, nil
}

// jobRepo does a job's work on the repository with the engines, through the same
// option builders as the commands.
type jobRepo struct {
	g *globals
	p *profile.Profile
	r *repo.Repo
}

func openJobRepo(ctx context.Context, g *globals, p *profile.Profile) (job.Repository, error) {
	r, err := g.open(ctx)
	if err != nil {
		return nil, err
	}
	return &jobRepo{g: g, p: p, r: r}, nil
}

func (j *jobRepo) Close() error { return j.r.Close() }

func (j *jobRepo) host() string {
	if j.p.Host != "" {
		return j.p.Host
	}
	h, _ := os.Hostname()
	return h
}

func (j *jobRepo) Backup(ctx context.Context, run *monitor.Run) error {
	f := backupFlags{host: j.host(), tags: j.p.Tags, excludes: j.p.Excludes, exclFiles: j.p.ExcludeFiles,
		excludeCaches: j.p.ExcludeCaches, oneFS: j.p.OneFileSystem, uploads: 2}
	opts, err := f.options(j.g, j.p.Paths)
	if err != nil {
		return err
	}
	res, err := archive.Run(ctx, j.r, opts)
	if res == nil {
		return err
	}
	for _, u := range res.Unreadable {
		fmt.Fprintf(os.Stderr, "cairn: unreadable: %s: %v\n", u.Path, u.Err)
	}
	s := res.Stats
	run.SnapshotID = res.Snapshot.String()
	run.Files = int64(s.NewFiles + s.ChangedFiles + s.UnchangedFiles)
	run.BytesAdded, run.BytesStored = int64(s.BytesAdded), int64(s.BytesStored)
	run.Errors = int64(len(res.Unreadable))
	return err
}

// forgetOptions turns the profile's retention into forget's options; forget keeps
// to the snapshots of the profile's host.
func forgetOptions(p *profile.Profile, host string) (forget.Options, error) {
	rt := p.Retention
	f := forgetFlags{groupBy: "host,paths", keepTags: rt.KeepTags, filter: filterFlags{host: host}}
	if rt.GroupBy != nil {
		f.groupBy = *rt.GroupBy
	}
	f.policy = forget.Policy{Last: rt.KeepLast, Hourly: rt.KeepHourly, Daily: rt.KeepDaily,
		Weekly: rt.KeepWeekly, Monthly: rt.KeepMonthly, Yearly: rt.KeepYearly}
	within := map[string]*forget.Duration{"keep-within": &f.policy.Within, "keep-within-hourly": &f.policy.WithinHourly,
		"keep-within-daily": &f.policy.WithinDaily, "keep-within-weekly": &f.policy.WithinWeekly,
		"keep-within-monthly": &f.policy.WithinMonthly, "keep-within-yearly": &f.policy.WithinYearly}
	values := map[string]string{"keep-within": rt.KeepWithin, "keep-within-hourly": rt.KeepWithinHourly,
		"keep-within-daily": rt.KeepWithinDaily, "keep-within-weekly": rt.KeepWithinWeekly,
		"keep-within-monthly": rt.KeepWithinMonthly, "keep-within-yearly": rt.KeepWithinYearly}
	for key, v := range values {
		if v == "" {
			continue
		}
		if err := within[key].Set(v); err != nil {
			return forget.Options{}, fmt.Errorf("profile %s: retention.%s: %w", p.Name, key, err)
		}
	}
	opts, err := f.options(nil)
	if err != nil {
		return opts, fmt.Errorf("profile %s: retention: %w", p.Name, err)
	}
	return opts, nil
}

func (j *jobRepo) Forget(ctx context.Context) error {
	opts, err := forgetOptions(j.p, j.host())
	if err != nil {
		return err
	}
	_, err = forget.Run(ctx, j.r, opts)
	return err
}

func jobPruneOptions(dry bool) (prune.Options, error) {
	f := pruneFlags{grace: prune.DefaultGrace, maxUnused: "5%", dryRun: dry}
	return f.options()
}

func (j *jobRepo) UnusedShare(ctx context.Context) (float64, error) {
	opts, err := jobPruneOptions(true)
	if err != nil {
		return 0, err
	}
	res, err := prune.Run(ctx, j.r, opts)
	if err != nil {
		return 0, err
	}
	st := res.Plan.Stats
	var total int64
	for _, b := range st.Bytes {
		total += b
	}
	if total == 0 {
		return 0, nil
	}
	return float64(total-st.UsedBytes) / float64(total), nil
}

func (j *jobRepo) Prune(ctx context.Context) error {
	opts, err := jobPruneOptions(false)
	if err != nil {
		return err
	}
	_, err = prune.Run(ctx, j.r, opts)
	return err
}

func (j *jobRepo) Verify(ctx context.Context, plan job.VerifyPlan) error {
	opts := verify.Options{SinceLast: plan.SinceLast, ReadData: plan.SliceM > 0}
	if plan.SliceM > 0 {
		opts.Subset = &verify.Subset{N: plan.SliceN, M: plan.SliceM}
	}
	rep, err := verify.Run(ctx, j.r, opts)
	if rep != nil && (err != nil || len(rep.Warnings) > 0) {
		printReport(os.Stderr, rep) // the details a summary line cannot hold
	}
	return err
}

// Describe fills the repository's size (its indexed packs) and snapshot count.
func (j *jobRepo) Describe(ctx context.Context, run *monitor.Run) {
	if ids, err := j.r.Snapshots(ctx); err == nil {
		run.Snapshots = len(ids)
	}
	if err := j.r.LoadIndex(ctx); err == nil {
		j.r.EachPack(func(_ digest.ID, size uint64) bool { run.RepoSize += int64(size); return true })
	} else if errors.Is(err, context.Canceled) {
		run.RepoSize = -1
	}
}
