package main

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/cairn-backup/cairn/internal/digest"
	"github.com/cairn-backup/cairn/manifest"
	"github.com/spf13/cobra"
)

func newProofCmd(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:   "proof SNAPSHOT PATH",
		Short: "Write the inclusion proof of one file (JSON, to standard output)",
		Long: `Write the proof that the file PATH (absolute, or relative to the current
directory) is in the snapshot: its entry, its chunks, and for each directory up to the
snapshot's root the sibling hashes of the Merkle tree. Anyone can check it with
'cairn verify-proof', or a short script (docs/proof.md), without the repository or
its key, against the snapshot's root ('cairn snapshots --json' shows it).`,
		Args: cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			path, err := filepath.Abs(args[1])
			if err != nil {
				return err
			}
			r, s, err := g.openSnapshot(ctx, nil, byID(args[0]))
			if err != nil {
				return err
			}
			defer r.Close()
			pr, err := manifest.BuildProof(ctx, r, s.Tree, s.Root, path)
			if err != nil {
				return err
			}
			pr.Snapshot, pr.Time, pr.Host = s.ID, s.Time.UTC(), s.Host
			b, err := pr.Encode()
			if err != nil {
				return err
			}
			_, err = cmd.OutOrStdout().Write(b)
			return err
		},
	}
}

type proofResult struct {
	OK          bool      `json:"ok"`
	Path        string    `json:"path"`
	Snapshot    digest.ID `json:"snapshot"`
	Root        digest.ID `json:"root"`
	RootChecked bool      `json:"root_checked"` // false: only internally consistent
	FileChecked bool      `json:"file_checked"`
}

// newVerifyProofCmd needs no repository, no password and no globals: a proof is
// checked with SHA-256 alone.
func newVerifyProofCmd() *cobra.Command {
	var root, file string
	cmd := &cobra.Command{
		Use:   "verify-proof PROOF.json",
		Short: "Check an inclusion proof, without a repository",
		Long: `Check a proof written by 'cairn proof' ("-" reads standard input). With
--root, the proof must lead to that snapshot root; without, only its internal
consistency is checked, which proves nothing until its root is compared with one you
trust. With --file, the local file must be the proven one, byte for byte.

Exit codes: 0 the proof holds, 4 it does not, 1 it could not be read.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			pr, err := readProof(args[0])
			if err != nil {
				return err
			}
			var want *digest.ID
			if root != "" {
				id, err := digest.Parse(root)
				if err != nil {
					return fmt.Errorf("--root: %w", err)
				}
				want = &id
			}
			res := proofResult{Path: pr.Path, Snapshot: pr.Snapshot, Root: pr.Root, RootChecked: want != nil, FileChecked: file != ""}
			if err := checkProof(pr, want, file); err != nil {
				return err
			}
			res.OK = true
			if asJSON, _ := cmd.Flags().GetBool("json"); asJSON {
				return json.NewEncoder(cmd.OutOrStdout()).Encode(res)
			}
			printProofResult(cmd.OutOrStdout(), pr, res, file)
			return nil
		},
	}
	cmd.Flags().StringVar(&root, "root", "", "the snapshot root (hex) the proof must lead to")
	cmd.Flags().StringVar(&file, "file", "", "a local file that must be the proven file")
	return cmd
}

func readProof(name string) (*manifest.Proof, error) {
	var rd io.Reader = os.Stdin
	if name != "-" {
		f, err := os.Open(name)
		if err != nil {
			return nil, err
		}
		defer f.Close()
		rd = f
	}
	b, err := io.ReadAll(io.LimitReader(rd, manifest.MaxProofSize+1))
	if err != nil {
		return nil, fmt.Errorf("read proof: %w", err)
	}
	return manifest.DecodeProof(b)
}

func checkProof(pr *manifest.Proof, root *digest.ID, file string) error {
	if file == "" {
		return pr.Verify(root, nil)
	}
	f, err := os.Open(file)
	if err != nil {
		return err
	}
	defer f.Close()
	return pr.Verify(root, f)
}

func printProofResult(w io.Writer, pr *manifest.Proof, res proofResult, file string) {
	fmt.Fprintf(w, "proof holds: %s is in snapshot %s (%s, host %s) with root %s\n",
		quoteName(pr.ExactPath()), pr.Snapshot.Short(), pr.Time.Format("2006-01-02 15:04:05 MST"), pr.Host, pr.Root)
	if file != "" {
		fmt.Fprintf(w, "the local file %s is the proven file (%d bytes, %s)\n", quoteName(file), pr.File.Size, count(len(pr.File.Chunks), "chunk", "chunks"))
	}
	if !res.RootChecked {
		fmt.Fprintf(w, "warning: no --root given: only the proof's own consistency was checked; it proves\n"+
			"nothing until root %s is compared with a snapshot root you trust\n", pr.Root)
	}
}
