package dump

import (
	"archive/tar"
	"archive/zip"
	"context"
	"fmt"
	"io"
	"io/fs"
	"time"

	"github.com/cairn-backup/cairn/manifest"
)

// archive is one archive format's writer.
type archiver interface {
	// add writes one entry (its content too, for a file) and returns the content bytes.
	add(ctx context.Context, c *content, name string, e *manifest.Entry) (int64, error)
	close() error
}

func newArchive(f Format, w io.Writer) (archiver, error) {
	switch f {
	case Tar:
		return &tarArchive{w: tar.NewWriter(w)}, nil
	case Zip:
		return &zipArchive{w: zip.NewWriter(w)}, nil
	}
	return nil, fmt.Errorf("unknown archive format %q (tar or zip)", f)
}

type tarArchive struct{ w *tar.Writer }

func (a *tarArchive) add(ctx context.Context, c *content, name string, e *manifest.Entry) (int64, error) {
	h := &tar.Header{
		Name: name, Mode: int64(e.Mode & 0o7777), Uid: int(e.UID), Gid: int(e.GID),
		ModTime: time.Unix(0, e.MTime), Format: tar.FormatPAX,
	}
	switch e.Type {
	case manifest.File:
		h.Typeflag, h.Size = tar.TypeReg, int64(e.Size)
	case manifest.Dir:
		h.Typeflag, h.Name = tar.TypeDir, name+"/"
	case manifest.Symlink:
		h.Typeflag, h.Linkname = tar.TypeSymlink, e.Target
	case manifest.FIFO:
		h.Typeflag = tar.TypeFifo
	case manifest.CharDev, manifest.BlockDev:
		h.Typeflag = tar.TypeChar
		if e.Type == manifest.BlockDev {
			h.Typeflag = tar.TypeBlock
		}
		h.Devmajor, h.Devminor = devMajor(e.Rdev), devMinor(e.Rdev)
	default:
		return 0, nil // a socket: tar cannot hold one, as restic's dump skips it
	}
	if len(e.Xattrs) > 0 {
		h.PAXRecords = map[string]string{}
		for _, x := range e.Xattrs {
			h.PAXRecords["SCHILY.xattr."+x.Name] = string(x.Value)
		}
	}
	if err := a.w.WriteHeader(h); err != nil {
		return 0, fmt.Errorf("dump %q: %w", name, err)
	}
	if e.Type != manifest.File {
		return 0, nil
	}
	return c.copyFile(ctx, e, a.w)
}

func (a *tarArchive) close() error { return a.w.Close() }

type zipArchive struct{ w *zip.Writer }

func (a *zipArchive) add(ctx context.Context, c *content, name string, e *manifest.Entry) (int64, error) {
	if e.Type != manifest.File && e.Type != manifest.Dir && e.Type != manifest.Symlink {
		return 0, nil // zip holds files, directories and symlinks only
	}
	h := &zip.FileHeader{Name: name, Method: zip.Deflate, Modified: time.Unix(0, e.MTime)}
	h.SetMode(fileMode(e))
	if e.Type == manifest.Dir {
		h.Name, h.Method = name+"/", zip.Store
	}
	w, err := a.w.CreateHeader(h)
	if err != nil {
		return 0, fmt.Errorf("dump %q: %w", name, err)
	}
	switch e.Type {
	case manifest.Symlink:
		_, err = io.WriteString(w, e.Target) // zip stores a link's target as its content
		return 0, err
	case manifest.File:
		return c.copyFile(ctx, e, w)
	}
	return 0, nil
}

func (a *zipArchive) close() error { return a.w.Close() }

// fileMode is the entry's type and permission bits as io/fs spells them.
func fileMode(e *manifest.Entry) fs.FileMode {
	m := fs.FileMode(e.Mode & 0o777)
	for bit, fm := range map[uint32]fs.FileMode{0o4000: fs.ModeSetuid, 0o2000: fs.ModeSetgid, 0o1000: fs.ModeSticky} {
		if e.Mode&bit != 0 {
			m |= fm
		}
	}
	switch e.Type {
	case manifest.Dir:
		m |= fs.ModeDir
	case manifest.Symlink:
		m |= fs.ModeSymlink
	}
	return m
}

// devMajor and devMinor split a Linux device number.
func devMajor(rdev uint64) int64 { return int64((rdev>>8)&0xfff | (rdev>>32)&^0xfff) }
func devMinor(rdev uint64) int64 { return int64(rdev&0xff | (rdev>>12)&^0xff) }
