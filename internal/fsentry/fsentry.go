// Package fsentry turns what lstat says of a path into a manifest entry, with exactly
// the fields a backup records. Backup and verify --against both use it: the same
// tree must give the same Merkle root whoever reads it.
package fsentry

import (
	"fmt"

	"github.com/cairn-backup/cairn/internal/fsys"
	"github.com/cairn-backup/cairn/manifest"
)

// Of returns the entry of path, everything but its content. When the symlink target
// or the xattrs cannot be read, the entry is returned with what could be read and an
// error naming what could not.
func Of(name, path string, info fsys.Info) (manifest.Entry, error) {
	e := manifest.Entry{
		Name: name, Type: Type(info.Kind), Mode: info.Perm, UID: info.UID, GID: info.GID,
		MTime: info.MTime, CTime: info.CTime, Inode: info.Inode, Dev: info.Dev,
	}
	var err error
	switch info.Kind {
	case fsys.Regular:
		e.Size, e.Nlink, e.Sparse = uint64(info.Size), info.Nlink, info.Sparse()
	case fsys.CharDev, fsys.BlockDev:
		e.Rdev = info.Rdev
	case fsys.Symlink:
		if e.Target, err = fsys.Readlink(path); err != nil {
			return e, fmt.Errorf("read symlink: %w", err)
		}
	}
	xs, err := fsys.Xattrs(path)
	for _, x := range xs {
		e.Xattrs = append(e.Xattrs, manifest.Xattr{Name: x.Name, Value: x.Value})
	}
	return e, err
}

// Unchanged reports whether info describes the same inode as prev with no change of
// metadata since: any change of mode, owner, xattrs, target or content moves ctime,
// so prev's symlink target and xattrs still hold and need not be read again.
func Unchanged(prev *manifest.Entry, info fsys.Info) bool {
	return prev != nil && prev.Type == Type(info.Kind) && prev.CTime == info.CTime &&
		prev.Inode == info.Inode && prev.Dev == info.Dev && prev.MTime == info.MTime && prev.CTime != 0
}

// Reuse returns the entry of an Unchanged path without reading it: prev's target and
// xattrs with what lstat said now.
func Reuse(name string, info fsys.Info, prev *manifest.Entry) manifest.Entry {
	e := manifest.Entry{
		Name: name, Type: Type(info.Kind), Mode: info.Perm, UID: info.UID, GID: info.GID,
		MTime: info.MTime, CTime: info.CTime, Inode: info.Inode, Dev: info.Dev,
		Target: prev.Target, Xattrs: prev.Xattrs,
	}
	switch info.Kind {
	case fsys.Regular:
		e.Size, e.Nlink, e.Sparse = uint64(info.Size), info.Nlink, info.Sparse()
	case fsys.CharDev, fsys.BlockDev:
		e.Rdev = info.Rdev
	}
	return e
}

// Type maps a file kind to the manifest's entry type.
func Type(k fsys.Kind) manifest.Type {
	switch k {
	case fsys.Regular:
		return manifest.File
	case fsys.Dir:
		return manifest.Dir
	case fsys.Symlink:
		return manifest.Symlink
	case fsys.FIFO:
		return manifest.FIFO
	case fsys.Socket:
		return manifest.Socket
	case fsys.CharDev:
		return manifest.CharDev
	}
	return manifest.BlockDev
}
