package main

import (
	"encoding/json"
	"fmt"
	"io"
	"io/fs"
	"path"
	"strings"
	"time"

	"github.com/cairn-backup/cairn/manifest"
	"github.com/spf13/cobra"
)

func newLsCmd(g *globals) *cobra.Command {
	var long, recursive bool
	var f filterFlags
	cmd := &cobra.Command{
		Use:   "ls SNAPSHOT [PATH]",
		Short: "List the files of a snapshot, or PATH and what it holds (all levels with --recursive)",
		Args:  cobra.RangeArgs(1, 2),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			r, s, err := g.openSnapshot(ctx, &f, byID(args[0]))
			if err != nil {
				return err
			}
			defer r.Close()
			prefix := ""
			if len(args) == 2 {
				prefix = strings.Trim(path.Clean("/"+args[1]), "/")
			}
			w := cmd.OutOrStdout()
			return manifest.Walk(ctx, r, s.Tree, s.Root, func(p string, e *manifest.Entry) error {
				if !underOrAbove(p, prefix) {
					return manifest.SkipDir
				}
				if p == "" || !under(p, prefix) {
					return nil
				}
				if err := printEntry(w, g.json, long, "/"+p, e); err != nil {
					return err
				}
				if prefix != "" && !recursive && p != prefix && e.Type == manifest.Dir {
					return manifest.SkipDir // one level under PATH, as restic's ls
				}
				return nil
			})
		},
	}
	f.register(cmd)
	cmd.Flags().BoolVarP(&long, "long", "l", false, "show mode, owner, size and time")
	cmd.Flags().BoolVar(&recursive, "recursive", false, "with PATH, list everything under it, not one level")
	return cmd
}

// under: p is prefix or inside it; underOrAbove also admits p's on the way to it.
func under(p, prefix string) bool {
	return prefix == "" || p == prefix || strings.HasPrefix(p, prefix+"/")
}

func underOrAbove(p, prefix string) bool {
	return under(p, prefix) || p == "" || strings.HasPrefix(prefix, p+"/")
}

type entryJSON struct {
	Path   string    `json:"path"`
	Type   string    `json:"type"`
	Mode   string    `json:"mode"`
	UID    uint32    `json:"uid"`
	GID    uint32    `json:"gid"`
	Size   uint64    `json:"size"`
	MTime  time.Time `json:"mtime"`
	Target string    `json:"link_target,omitempty"`
}

func printEntry(w io.Writer, asJSON, long bool, p string, e *manifest.Entry) error {
	if asJSON {
		return json.NewEncoder(w).Encode(entryJSON{Path: p, Type: e.Type.String(), Mode: modeString(e), UID: e.UID, GID: e.GID,
			Size: e.Size, MTime: time.Unix(0, e.MTime).UTC(), Target: e.Target})
	}
	if !long {
		_, err := fmt.Fprintln(w, quoteName(p))
		return err
	}
	name := quoteName(p)
	if e.Type == manifest.Symlink {
		name += " -> " + quoteName(e.Target)
	}
	_, err := fmt.Fprintf(w, "%s %5d %5d %12d %s %s\n", modeString(e), e.UID, e.GID, e.Size,
		time.Unix(0, e.MTime).Local().Format("2006-01-02 15:04:05"), name)
	return err
}

// quoteName shows names with control characters or invalid UTF-8 escaped, so a
// crafted name cannot forge lines of output.
func quoteName(s string) string {
	for _, r := range s {
		if r < 0x20 || r == 0x7f || r == '\uFFFD' {
			q := fmt.Sprintf("%q", s)
			return q[1 : len(q)-1]
		}
	}
	return s
}

func modeString(e *manifest.Entry) string {
	m := fs.FileMode(e.Mode & 0o777)
	if e.Mode&0o4000 != 0 {
		m |= fs.ModeSetuid
	}
	if e.Mode&0o2000 != 0 {
		m |= fs.ModeSetgid
	}
	if e.Mode&0o1000 != 0 {
		m |= fs.ModeSticky
	}
	switch e.Type {
	case manifest.Dir:
		m |= fs.ModeDir
	case manifest.Symlink:
		m |= fs.ModeSymlink
	case manifest.FIFO:
		m |= fs.ModeNamedPipe
	case manifest.Socket:
		m |= fs.ModeSocket
	case manifest.CharDev:
		m |= fs.ModeDevice | fs.ModeCharDevice
	case manifest.BlockDev:
		m |= fs.ModeDevice
	}
	return m.String()
}
