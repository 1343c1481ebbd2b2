package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"

	"github.com/cairn-backup/cairn/internal/digest"
	"github.com/cairn-backup/cairn/internal/repo"
	"github.com/cairn-backup/cairn/manifest"
	"github.com/spf13/cobra"
)

var catKinds = []string{"config", "snapshot", "index", "pack", "blob", "tree", "key"}

func newCatCmd(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:   "cat config|snapshot|index|pack|blob|tree|key [ID]",
		Short: "Print a repository object, decoded, for debugging",
		Long: `Print one object of the repository, decrypted and decoded, as restic's cat: the
config, a snapshot record, an index segment, a pack's header (its blob list), a data
blob's raw content, a tree blob (a directory node or a chunk list) or a key file. IDs
may be unique prefixes; a snapshot may be "latest". Key material is never printed:
a key file is shown without its wrapped master key, and "masterkey" is refused.`,
		Example: `  cairn cat config
  cairn cat snapshot latest
  cairn cat tree 4bba301e
  cairn cat blob 7f0c9d2a > chunk.bin`,
		Args:      cobra.RangeArgs(1, 2),
		ValidArgs: catKinds,
		RunE: func(cmd *cobra.Command, args []string) error {
			kind := args[0]
			if kind == "masterkey" {
				return errors.New("cat masterkey: refused: cairn never prints key material (back up the key files and the password instead)")
			}
			if kind != "config" && len(args) != 2 {
				return fmt.Errorf("cat %s needs an ID", kind)
			}
			ctx := cmd.Context()
			r, err := g.open(ctx)
			if err != nil {
				return err
			}
			defer r.Close()
			id := ""
			if len(args) == 2 {
				id = args[1]
			}
			return catObject(ctx, cmd.OutOrStdout(), g, r, kind, id)
		},
	}
}

func catObject(ctx context.Context, w io.Writer, g *globals, r *repo.Repo, kind, id string) error {
	switch kind {
	case "config":
		return printIndented(w, r.Config())
	case "snapshot":
		return catSnapshot(ctx, w, g, r, id)
	case "index":
		seg, entries, supersedes, err := r.IndexSegment(ctx, id)
		if err != nil {
			return err
		}
		return printIndented(w, map[string]any{"id": seg, "supersedes": supersedes, "packs": groupByPack(entries)})
	case "pack":
		p, size, blobs, err := r.PackBlobs(ctx, id)
		if err != nil {
			return err
		}
		return printIndented(w, map[string]any{"id": p, "size": size, "blobs": blobsJSON(blobs)})
	case "blob", "tree":
		return catBlob(ctx, w, r, kind, id)
	case "key":
		k, err := r.KeyFile(ctx, id)
		if err != nil {
			return err
		}
		return printIndented(w, k)
	}
	return fmt.Errorf("cat: unknown object type %q (one of %v)", kind, catKinds)
}

func catSnapshot(ctx context.Context, w io.Writer, g *globals, r *repo.Repo, ref string) error {
	if ref == "latest" {
		snaps, err := g.loadSnapshots(ctx, r, nil)
		if err != nil {
			return err
		}
		s, err := repo.Find(snaps, ref)
		if err != nil {
			return err
		}
		ref = s.ID.String()
	}
	_, rec, err := r.SnapshotRecord(ctx, ref)
	if err != nil {
		return err
	}
	return printIndented(w, json.RawMessage(rec))
}

func catBlob(ctx context.Context, w io.Writer, r *repo.Repo, kind, prefix string) error {
	if err := r.LoadIndex(ctx); err != nil {
		return err
	}
	t := repo.DataBlob
	if kind == "tree" {
		t = repo.TreeBlob
	}
	b, err := r.ResolveBlob(t, prefix)
	if err != nil {
		return err
	}
	data, err := r.LoadBlob(ctx, t, b.ID)
	if err != nil {
		return err
	}
	if t == repo.DataBlob {
		_, err = w.Write(data)
		return err
	}
	if n, err := manifest.DecodeNode(data); err == nil {
		return printIndented(w, n)
	}
	chunks, err := manifest.DecodeChunkList(data)
	if err != nil {
		return fmt.Errorf("tree blob %s is neither a directory node nor a chunk list: %w", b.ID.Short(), err)
	}
	return printIndented(w, map[string]any{"chunks": chunks})
}

type blobJSON struct {
	Type   string    `json:"type"`
	ID     digest.ID `json:"id"`
	Offset uint32    `json:"offset"`
	Length uint32    `json:"length"`
}

func blobsJSON(blobs []repo.Blob) []blobJSON {
	out := make([]blobJSON, len(blobs))
	for i, b := range blobs {
		out[i] = blobJSON{Type: b.Type.String(), ID: b.ID, Offset: b.Offset, Length: b.Length}
	}
	return out
}

type packJSON struct {
	ID    digest.ID  `json:"id"`
	Blobs []blobJSON `json:"blobs"`
}

func groupByPack(entries []repo.IndexEntry) []packJSON {
	var out []packJSON
	for _, e := range entries {
		if len(out) == 0 || out[len(out)-1].ID != e.Pack {
			out = append(out, packJSON{ID: e.Pack})
		}
		p := &out[len(out)-1]
		p.Blobs = append(p.Blobs, blobJSON{Type: e.Type.String(), ID: e.ID, Offset: e.Offset, Length: e.Length})
	}
	return out
}

func printIndented(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}
