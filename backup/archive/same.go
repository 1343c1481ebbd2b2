package archive

import (
	"bytes"
	"slices"

	"github.com/cairn-backup/cairn/manifest"
)

// sameEntry compares every field, hashed and side data alike: equal entries encode to
// equal bytes, so a directory of equal entries has the same node as before.
func sameEntry(a, b *manifest.Entry) bool {
	return a.Name == b.Name && a.Type == b.Type && a.Mode == b.Mode && a.UID == b.UID && a.GID == b.GID &&
		a.Size == b.Size && a.MTime == b.MTime && a.Nlink == b.Nlink && a.Rdev == b.Rdev &&
		a.Target == b.Target && a.Content == b.Content && a.CTime == b.CTime && a.Inode == b.Inode &&
		a.Dev == b.Dev && a.Sparse == b.Sparse && a.Subtree == b.Subtree &&
		slices.Equal(a.Chunks, b.Chunks) && slices.Equal(a.Lists, b.Lists) &&
		slices.EqualFunc(a.Xattrs, b.Xattrs, func(x, y manifest.Xattr) bool {
			return x.Name == y.Name && bytes.Equal(x.Value, y.Value)
		})
}
