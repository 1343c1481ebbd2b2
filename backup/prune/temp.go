package prune

import "context"

// removeTemp deletes the temporary files that writes killed part way left in the
// storage (a local directory keeps them; S3 none), once they are older than the grace
// period by the storage's clock: a younger one may be a running backup's upload.
func (p *run) removeTemp(ctx context.Context) error {
	files, _, err := p.r.TempFiles(ctx)
	if err != nil {
		return err
	}
	for _, f := range files {
		if p.now.Sub(f.ModTime) < p.opts.Grace {
			continue
		}
		if err := p.r.DeleteTempFile(ctx, f.Name); err != nil {
			return err
		}
		p.res.TempFiles++
		p.res.TempFreed += f.Size
	}
	return nil
}
