package manifest

import (
	"bytes"

	"github.com/cairn-backup/cairn/internal/digest"
)

// entry decodes one entry of an entries node and returns its hashed part.
func (r *reader) entry(e *Entry) []byte {
	start := r.off
	hashed := r.bytes("hashed entry", MaxEntrySize)
	if r.err != nil {
		return nil
	}
	// Decode the hashed part in place, with reads limited to it.
	r.off -= len(hashed)
	r.lim = r.off + len(hashed)
	r.hashed(e)
	if r.err == nil && r.off != r.lim {
		r.failf("entry %q: %d bytes after the hashed fields", e.Name, r.lim-r.off)
	}
	r.lim = len(r.b)
	r.side(e)
	if r.err == nil && r.off-start > MaxEntrySize {
		r.failf("entry %q: %d bytes, above %d", e.Name, r.off-start, MaxEntrySize)
	}
	if p := e.problem(); r.err == nil && p != "" {
		r.failf("entry %q: %s", e.Name, p)
	}
	return hashed
}

func (r *reader) hashed(e *Entry) {
	if v := r.u8("entry version"); r.err == nil && v != entryVersion {
		r.failf("unknown entry version %d", v)
	}
	if e.Type = Type(r.u8("type")); r.err == nil && !e.Type.valid() {
		r.failf("unknown type %d", e.Type)
	}
	e.Name = string(r.bytes("name", MaxNameLen))
	e.Mode = r.uint32("mode")
	e.UID = r.uint32("uid")
	e.GID = r.uint32("gid")
	e.Size = r.uvarint("size")
	e.MTime = r.varint("mtime")
	e.Nlink = r.uint32("nlink")
	e.Rdev = r.uvarint("rdev")
	e.Target = string(r.bytes("target", MaxTargetLen))
	e.Xattrs = r.xattrs()
	e.Content = r.id("content")
}

func (r *reader) xattrs() []Xattr {
	n := r.count("xattrs", 2)
	if r.err == nil && n > MaxXattrs {
		r.failf("%d xattrs, above %d", n, MaxXattrs)
	}
	if r.err != nil || n == 0 {
		return nil
	}
	xs := make([]Xattr, n)
	for i := range xs {
		xs[i].Name = string(r.bytes("xattr name", MaxNameLen))
		if v := r.bytes("xattr value", MaxXattrValue); len(v) > 0 {
			xs[i].Value = bytes.Clone(v) // not an alias of the blob, which may be large
		}
	}
	return xs
}

func (r *reader) side(e *Entry) {
	e.CTime = r.varint("ctime")
	e.Inode = r.uvarint("inode")
	e.Dev = r.uvarint("dev")
	flags := r.u8("flags")
	if r.err == nil && flags&^flagSparse != 0 {
		r.failf("unknown flags %#x", flags)
	}
	e.Sparse = flags&flagSparse != 0
	switch e.Type {
	case Dir:
		e.Subtree = r.id("subtree")
	case File:
		e.Chunks = r.chunks(InlineChunks)
		if n := r.count("lists", digest.Size); r.err == nil && n > 0 {
			e.Lists = make([]digest.ID, n)
			for i := range e.Lists {
				e.Lists[i] = r.id("list")
			}
		}
	}
}

// chunks reads a chunk list of at most max chunks, none of them empty.
func (r *reader) chunks(max int) []Chunk {
	n := r.count("chunks", minChunkSize)
	if r.err == nil && n > max {
		r.failf("%d chunks, above %d", n, max)
	}
	if r.err != nil || n == 0 {
		return nil
	}
	cs := r.chunkSlice(n)
	for i := range cs {
		cs[i].ID = r.id("chunk id")
		if cs[i].Size = r.uint32("chunk size"); r.err == nil && cs[i].Size == 0 {
			r.failf("chunk %d is empty", i)
		}
	}
	return cs
}

// DecodeHashed parses the hashed encoding of one entry, as carried by a proof. Its side
// data is left zero.
func DecodeHashed(b []byte) (*Entry, error) {
	r := newReader(b, "hashed entry")
	e := &Entry{}
	r.hashed(e)
	r.end()
	if p := e.hashedProblem(); r.err == nil && p != "" {
		r.failf("%s", p)
	}
	if r.err != nil {
		return nil, r.err
	}
	return e, nil
}

// DecodeChunkList parses and checks a chunk-list node blob: 1 to MaxListChunks chunks.
func DecodeChunkList(b []byte) ([]Chunk, error) {
	r := newReader(b, "chunk list")
	r.header(listMagic)
	cs := r.chunks(MaxListChunks)
	if r.err == nil && len(cs) == 0 {
		r.failf("no chunks")
	}
	r.end()
	if r.err != nil {
		return nil, r.err
	}
	return cs, nil
}
