package repo

import (
	"context"
	"fmt"
	"time"

	"github.com/cairn-backup/cairn/internal/digest"
	"github.com/cairn-backup/cairn/remote"
)

// What interrupted writes leave behind: temporary files of a storage that keeps them
// (remote.TempLister: a local directory), and packs no index names (ListPackInfos).
// verify reports both; prune removes old temporary files and marks old packs.

// TempFile is a temporary file a write killed part way left in the storage.
type TempFile struct {
	Name    string // path in the storage, e.g. "data/ab/.tmp-123"
	Size    int64
	ModTime time.Time // by the storage's clock
}

// TempFiles lists the storage's temporary files. kept is false when the storage keeps
// none (S3): then there is nothing to list. A failed listing is an error, never "none".
func (r *Repo) TempFiles(ctx context.Context) (files []TempFile, kept bool, err error) {
	tl, ok := r.store.(remote.TempLister)
	if !ok {
		return nil, false, nil
	}
	err = tl.ListTemp(ctx, func(i remote.Info) error {
		files = append(files, TempFile{Name: i.Name, Size: i.Size, ModTime: i.ModTime})
		return nil
	})
	if err != nil {
		return nil, true, fmt.Errorf("list temporary files: %w", err)
	}
	return files, true, nil
}

// DeleteTempFile removes a temporary file TempFiles listed; one already gone is no error.
func (r *Repo) DeleteTempFile(ctx context.Context, name string) error {
	tl, ok := r.store.(remote.TempLister)
	if !ok {
		return fmt.Errorf("delete temporary file %s: the storage keeps none", name)
	}
	return tl.DeleteTemp(ctx, name)
}

// ListPackInfos lists data/ once, as ListPacks does, with the storage's time of each
// pack: names that are not pack ids come back as damage, not skipped.
func (r *Repo) ListPackInfos(ctx context.Context) (map[digest.ID]PackInfo, []error, error) {
	out := map[digest.ID]PackInfo{}
	var bad []error
	err := r.store.List(ctx, remote.Data, func(i remote.Info) error {
		id, err := digest.Parse(i.Name)
		if err != nil {
			bad = append(bad, fmt.Errorf("data/%s: not a pack id: %w", i.Name, ErrCorrupt))
			return nil
		}
		out[id] = PackInfo{Size: i.Size, ModTime: i.ModTime}
		return nil
	})
	if err != nil {
		return nil, nil, fmt.Errorf("list data: %w", err)
	}
	return out, bad, nil
}
